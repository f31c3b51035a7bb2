"""Reading a job's results: pages of `GetJobResults`, parsed into dicts."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Union

from spectra.bulk.v1 import bulk_pb2 as pb

if TYPE_CHECKING:
    from ._client import Client


@dataclass
class LoadResult:
    """The end of a load: the job, its counts, and its records by outcome.

    Every uploaded record is in exactly one of `successful()`, `failed()` and `unprocessed()`;
    each yields dicts with `_record` (the record's 1-based number in the upload, an int), then
    `_created` (successful: bool) or `_error` (failed: `CODE: message`), then the record's fields.
    """

    client: "Client"
    job: pb.Job

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.job.job_id

    @property
    def state(self) -> str:
        """`JobComplete`, `Failed` or `Aborted` (`state_name` of the job's state)."""
        return state_name(self.job.state)

    @property
    def ok(self) -> bool:
        """The job completed and no record failed."""
        return self.job.state == pb.JOB_STATE_JOB_COMPLETE and self.job.number_records_failed == 0

    @property
    def error_message(self) -> str:
        """Why the job failed, when it did."""
        return self.job.error_message

    @property
    def records_total(self) -> int:
        """Records in the upload."""
        return self.job.number_records_total

    @property
    def records_processed(self) -> int:
        """Records handled, failed ones included."""
        return self.job.number_records_processed

    @property
    def records_failed(self) -> int:
        """Records that failed."""
        return self.job.number_records_failed

    @property
    def records_succeeded(self) -> int:
        """Records applied."""
        return self.job.number_records_processed - self.job.number_records_failed

    def successful(self, page_records: int = 50_000) -> Iterator[dict[str, Any]]:
        """The applied records."""
        return query_rows(self.client, self.job, pb.RESULT_SET_SUCCESSFUL, page_records)

    def failed(self, page_records: int = 50_000) -> Iterator[dict[str, Any]]:
        """The failed records, each with its `_error`."""
        return query_rows(self.client, self.job, pb.RESULT_SET_FAILED, page_records)

    def unprocessed(self, page_records: int = 50_000) -> Iterator[dict[str, Any]]:
        """The records never handled (the job failed or was aborted first)."""
        return query_rows(self.client, self.job, pb.RESULT_SET_UNPROCESSED, page_records)

    def __repr__(self) -> str:
        return (
            f"LoadResult(job_id={self.job_id!r}, state={self.state!r}, processed={self.records_processed}, "
            f"failed={self.records_failed})"
        )


_STATE_NAMES = {
    pb.JOB_STATE_OPEN: "Open",
    pb.JOB_STATE_UPLOAD_COMPLETE: "UploadComplete",
    pb.JOB_STATE_IN_PROGRESS: "InProgress",
    pb.JOB_STATE_JOB_COMPLETE: "JobComplete",
    pb.JOB_STATE_FAILED: "Failed",
    pb.JOB_STATE_ABORTED: "Aborted",
}


def state_name(state: pb.JobState) -> str:
    """A job state as the REST API and the CLI spell it: `Open`, …, `JobComplete`."""
    return _STATE_NAMES.get(state) or str(pb.JobState.Name(state))


def pages(client: "Client", job: pb.Job, result_set: pb.ResultSet, page_records: int) -> Iterator[list[pb.ResultChunk]]:
    """The chunks of each page of one result set, a page of `page_records` records at a time."""
    locator = ""
    while True:
        request = pb.GetJobResultsRequest(
            job_id=job.job_id, result_set=result_set, locator=locator, max_records=page_records
        )
        chunks = client._retrying(
            f"reading the results of job {job.job_id}",
            lambda: list(client.stub.GetJobResults(request, metadata=client.metadata, timeout=max(client.timeout, 600))),
        )
        yield chunks
        locator = chunks[-1].next_locator if chunks else ""
        if not locator:
            return


def query_rows(client: "Client", job: pb.Job, result_set: pb.ResultSet, page_records: int) -> Iterator[dict[str, Any]]:
    """The records of a CSV or JSON job's result set as dicts; `_record` becomes an int and
    `_created` a bool."""
    for chunks in pages(client, job, result_set, page_records):
        data = b"".join(chunk.data for chunk in chunks)
        if job.content_type == pb.CONTENT_TYPE_RECORD_BATCH:
            for columns, values in _batches(chunks):
                for row in values:
                    yield _marked(dict(zip(columns, row)))
            continue
        if not data:
            continue
        if job.content_type == pb.CONTENT_TYPE_JSON:
            records = json.loads(data)
        else:
            delimiter = job.column_delimiter or ","
            records = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)
        for record in records:
            yield _marked(record)


def typed_rows(
    client: "Client", job: pb.Job, result_set: pb.ResultSet, page_records: int, batches: bool = False
) -> Iterator[Any]:
    """The records of a RECORD_BATCH job as dicts of typed values, or with `batches=True` as
    `(columns, rows)` pairs of value lists."""
    for chunks in pages(client, job, result_set, page_records):
        for columns, values in _batches(chunks):
            if batches:
                yield columns, values
            else:
                for row in values:
                    yield dict(zip(columns, row))


def _batches(chunks: list[pb.ResultChunk]) -> Iterator[tuple[list[str], list[list[Any]]]]:
    for chunk in chunks:
        if chunk.HasField("records"):
            columns = list(chunk.records.columns)
            yield columns, [[value_of(value) for value in row.values] for row in chunk.records.rows]


def value_of(value: pb.Value) -> Union[None, str, int, float, bool, bytes, datetime]:
    """The Python value of a `Value`."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "timestamp_value":
        moment: datetime = value.timestamp_value.ToDatetime(tzinfo=timezone.utc)
        return moment
    plain: Union[str, int, float, bool, bytes] = getattr(value, kind)
    return plain


def _marked(record: dict[str, Any]) -> dict[str, Any]:
    if "_record" in record and record["_record"] not in (None, ""):
        record["_record"] = int(record["_record"])
    if isinstance(record.get("_created"), str):
        record["_created"] = record["_created"] == "true"
    return record
