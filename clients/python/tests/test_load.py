"""client.load against the real server: files, iterables, bad rows, a cut connection."""

from __future__ import annotations

import gzip
import os
import sqlite3
import time

import grpc
import pytest

from spectra_bulk import BulkError, Client

from .conftest import TOKEN, CuttingProxy


def test_a_csv_file_with_bad_rows(client: Client, tmp_path, warehouse: str) -> None:
    path = tmp_path / "customers.csv"
    # Record 3 repeats key 1; record 4 has no name (NOT NULL).
    path.write_text("id,name,city\n1,Ada,London\n2,Grace,Arlington\n1,Again,Paris\n4,,Oslo\n5,Linus,Helsinki\n")
    seen = []
    result = client.load(str(path), object="customers", progress=seen.append)
    assert result.state == "JobComplete"
    assert (result.records_total, result.records_processed, result.records_failed) == (5, 5, 2)
    assert result.records_succeeded == 3 and not result.ok
    assert seen and seen[-1].job_id == result.job_id
    successful = list(result.successful())
    assert [(r["_record"], r["_created"], r["id"], r["name"]) for r in successful] == [
        (1, True, "1", "Ada"),
        (2, True, "2", "Grace"),
        (5, True, "5", "Linus"),
    ]
    failed = {r["_record"]: r for r in result.failed()}
    assert sorted(failed) == [3, 4]
    assert failed[3]["_error"].startswith("DUPLICATE_KEY: ") and failed[3]["name"] == "Again"
    assert failed[4]["_error"].split(":")[0] in {"NOT_NULL", "REQUIRED_FIELD_MISSING", "INVALID_VALUE"}, failed[4]
    assert list(result.unprocessed()) == []
    with sqlite3.connect(warehouse) as connection:
        assert connection.execute("SELECT id, name FROM customers WHERE id IN (1, 2, 5) ORDER BY id").fetchall() == [
            (1, "Ada"), (2, "Grace"), (5, "Linus")
        ]


def test_an_iterable_of_records_is_sent_as_json_and_gzip_when_asked(client: Client) -> None:
    records = ({"id": n, "label": f"m{n}", "score": n / 4, "count": None if n % 2 else n} for n in range(1, 1001))
    result = client.load(records, object="measures", gzip=True, progress=False)
    assert (result.state, result.records_processed, result.records_failed) == ("JobComplete", 1000, 0)
    assert result.ok
    first = next(result.successful(page_records=10))
    assert first["_record"] == 1 and first["_created"] is True and first["label"] == "m1"


def test_a_gzip_file_and_an_upsert_by_external_id(client: Client, tmp_path) -> None:
    path = tmp_path / "numbers.csv.gz"
    path.write_bytes(gzip.compress(b"id,square\n" + b"".join(b"%d,%d\n" % (n, n * n) for n in range(1, 301))))
    assert client.load(path, object="numbers", progress=False).records_processed == 300
    again = tmp_path / "again.json"
    again.write_text('[{"id": 2, "square": 4}, {"id": 301, "square": 90601}]')
    result = client.load(again, object="numbers", operation="upsert", external_id="id", progress=False)
    assert [(r["_record"], r["_created"]) for r in result.successful()] == [(1, False), (2, True)]


def test_an_upload_cut_midway_resumes_from_bytes_uploaded(
    server: str, proxy: CuttingProxy, tmp_path, data_dir: str
) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("id,square\n")
        for n in range(100_001, 1_100_001):
            f.write(f"{n},{n * 7}\n")
    size = os.path.getsize(path)
    created = []
    resumed_from = []

    def stored() -> bool:
        # The cut comes once the server holds part of the upload, so the resume cannot start at 0.
        upload = os.path.join(data_dir, "spectra", "staging", created[0], "upload") if created else ""
        return bool(created) and os.path.exists(upload) and os.path.getsize(upload) > 0

    proxy.cut_after(size // 4, when=stored)
    with Client(proxy.address, TOKEN, backoff=0.05) as client:
        create, job = client.create_job, client.job

        def creating(request):
            made = create(request)
            created.append(made.job_id)
            return made

        def reading(job_id: str):
            # The server records a broken stream's bytes once it notices the break, which can
            # come after the client's retry asks: ask again until it has (re-sending from 0
            # would be correct too, only slower).
            deadline = time.monotonic() + 10
            read = job(job_id)
            while read.bytes_uploaded == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
                read = job(job_id)
            resumed_from.append(read.bytes_uploaded)
            return read

        client.create_job = creating  # type: ignore[method-assign]
        client.job = reading  # type: ignore[method-assign]
        result = client.load(path, object="numbers", progress=False)
    assert proxy.cuts == 1 and proxy.connections >= 2
    assert len(resumed_from) == 1 and 0 < resumed_from[0] < size, resumed_from
    assert (result.state, result.records_processed, result.records_failed) == ("JobComplete", 1_000_000, 0)


def test_unary_calls_are_retried_while_the_server_is_unreachable(server: str, proxy: CuttingProxy) -> None:
    # The first connection is cut at once; the retried call goes through a new one.
    proxy.cut_after(1)
    with Client(proxy.address, TOKEN, backoff=0.05) as client:
        assert list(client.jobs(page_size=1))
    assert proxy.cuts == 1


def test_errors_name_the_call_and_the_code(client: Client, server: str, tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,name\n1,a\n")
    with pytest.raises(BulkError) as raised:
        client.load(path, object="no such table", progress=False)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value).startswith("creating the job: INVALID_ARGUMENT: object 'no such table'")
    with Client(server, "wrong-token") as stranger, pytest.raises(BulkError) as raised:
        stranger.job("bulk-job-x")
    assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(ValueError, match="format"):
        client.load(tmp_path / "data.txt", object="customers")
    with pytest.raises(ValueError, match="operation"):
        client.load(path, object="customers", operation="merge")
