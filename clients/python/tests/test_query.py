"""client.query: rows as strings, typed rows, paging, and a DataFrame round trip."""

from __future__ import annotations

import importlib.util

import pytest

from spectra_bulk import BulkError, Client


@pytest.fixture(scope="module")
def loaded(server: str) -> None:
    from .conftest import TOKEN

    with Client(server, TOKEN) as client:
        rows = ({"id": n, "label": f"q{n}", "score": n + 0.5, "count": n * 10} for n in range(5001, 5026))
        assert client.load(rows, object="measures", progress=False).ok


def test_rows_as_strings_in_pages(client: Client, loaded: None) -> None:
    sql = "SELECT id, label FROM measures WHERE id > 5000 ORDER BY id"
    rows = list(client.query(sql, object="measures", page_records=10))
    assert len(rows) == 25
    assert rows[0] == {"id": "5001", "label": "q5001"} and rows[-1] == {"id": "5025", "label": "q5025"}


def test_typed_rows_from_record_batches(client: Client, loaded: None) -> None:
    sql = "SELECT id, label, score, count FROM measures WHERE id > 5000 ORDER BY id"
    rows = list(client.query(sql, object="measures", typed=True, page_records=7))
    assert len(rows) == 25
    assert rows[0] == {"id": 5001, "label": "q5001", "score": 5001.5, "count": 50010}
    assert [row["id"] for row in rows] == list(range(5001, 5026))


def test_a_failed_query_raises_with_the_reason(client: Client) -> None:
    with pytest.raises(BulkError, match="ended Failed: "):
        list(client.query("SELECT missing_column FROM measures", object="measures"))


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas is not installed")
def test_a_dataframe_round_trip(client: Client) -> None:
    import pandas

    frame = pandas.DataFrame(
        {"id": range(1, 2001), "label": [f"f{n}" if n % 3 else None for n in range(1, 2001)],
         "score": [n / 8 for n in range(1, 2001)]}
    )
    result = client.load(frame, object="frames", progress=False)
    assert (result.records_processed, result.records_failed) == (2000, 0)
    back = client.query("SELECT id, label, score FROM frames ORDER BY id", object="frames", dataframe=True,
                        page_records=500)
    assert list(back.columns) == ["id", "label", "score"]
    pandas.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_without_pandas_a_dataframe_query_says_what_to_install(client: Client, loaded: None, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def without_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pandas)
    with pytest.raises(ImportError, match=r"spectra-bulk\[pandas\]"):
        client.query("SELECT id FROM measures", object="measures", dataframe=True)
