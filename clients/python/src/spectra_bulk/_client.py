"""The client: jobs over the gRPC API of API.md, with retries, deadlines and resumable uploads."""

from __future__ import annotations

import gzip as gzip_module
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

import grpc

from spectra.bulk.v1 import bulk_pb2 as pb
from spectra.bulk.v1 import bulk_pb2_grpc as rpc

from ._results import LoadResult, query_rows, state_name, typed_rows

#: What `load` takes: a file path, an iterable of records (mappings) or of bytes, or a DataFrame.
Source = Union[str, "os.PathLike[str]", Iterable[Mapping[str, Any]], Iterable[bytes], Any]

#: Bytes per upload message (API.md §3: clients send uploads as messages of up to 1 MiB).
MESSAGE_BYTES = 1 << 20

_OPERATIONS = {
    "insert": pb.OPERATION_INSERT,
    "update": pb.OPERATION_UPDATE,
    "upsert": pb.OPERATION_UPSERT,
    "delete": pb.OPERATION_DELETE,
}
_FORMATS = {"csv": pb.CONTENT_TYPE_CSV, "json": pb.CONTENT_TYPE_JSON}
_TERMINAL = {pb.JOB_STATE_JOB_COMPLETE, pb.JOB_STATE_FAILED, pb.JOB_STATE_ABORTED}
# Codes a call is retried on: the server or the path to it is down for a moment.
_RETRIED = {grpc.StatusCode.UNAVAILABLE}

T = TypeVar("T")


class BulkError(Exception):
    """A call failed, or a job ended without completing; `code` is the gRPC status when there is one."""

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None, job_id: Optional[str] = None):
        super().__init__(message)
        self.code = code
        self.job_id = job_id


@dataclass(frozen=True)
class TLS:
    """TLS settings: the CA to trust (PEM; the system's when `None`) and, for mTLS, a client
    certificate chain and its key (PEM)."""

    root_certificates: Optional[bytes] = None
    certificate_chain: Optional[bytes] = None
    private_key: Optional[bytes] = None

    @classmethod
    def from_files(cls, ca: Optional[str] = None, cert: Optional[str] = None, key: Optional[str] = None) -> "TLS":
        """Reads the PEM files given."""

        def read(path: Optional[str]) -> Optional[bytes]:
            if path is None:
                return None
            with open(path, "rb") as f:
                return f.read()

        return cls(read(ca), read(cert), read(key))


class Client:
    """A connection to a Spectra Bulk server's gRPC surface.

    `server` is `host:port`; `token` the tenant's bearer token; `tenant` is sent as `x-tenant-id`
    when given. `tls` is `False`/`None` for cleartext, `True` for TLS with the system's roots, or
    a `TLS`. Every unary call has a deadline of `timeout` seconds and is retried on `UNAVAILABLE`
    up to `retries` times with exponential backoff (creates carry a `request_id`, so a retried
    create returns the same job). Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        server: str,
        token: str,
        tenant: Optional[str] = None,
        tls: Union[None, bool, TLS] = None,
        *,
        timeout: float = 30.0,
        retries: int = 6,
        backoff: float = 0.2,
        options: Sequence[tuple[str, Any]] = (),
    ):
        channel_options = [
            ("grpc.max_receive_message_length", 8 << 20),
            ("grpc.max_send_message_length", 4 << 20),
            *options,
        ]
        if tls:
            settings = tls if isinstance(tls, TLS) else TLS()
            credentials = grpc.ssl_channel_credentials(
                settings.root_certificates, settings.private_key, settings.certificate_chain
            )
            self._channel = grpc.secure_channel(server, credentials, options=channel_options)
        else:
            self._channel = grpc.insecure_channel(server, options=channel_options)
        self._stub = rpc.BulkServiceStub(self._channel)
        self._metadata: list[tuple[str, str]] = [("authorization", f"Bearer {token}")]
        if tenant is not None:
            self._metadata.append(("x-tenant-id", tenant))
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    # -- plumbing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stub(self) -> rpc.BulkServiceStub:
        """The raw generated stub, for calls this layer does not wrap; pass `metadata=client.metadata`."""
        return self._stub

    @property
    def metadata(self) -> list[tuple[str, str]]:
        """The call metadata: the bearer token and the tenant."""
        return list(self._metadata)

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return call()
            except grpc.RpcError as error:
                code = error.code()
                if code not in _RETRIED or attempt == self.retries:
                    raise BulkError(f"{what}: {code.name}: {error.details()}", code) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")

    def _unary(self, what: str, method: Callable[..., T], request: Any) -> T:
        return self._retrying(what, lambda: method(request, metadata=self._metadata, timeout=self.timeout))

    # -- jobs -----------------------------------------------------------------------------------

    def create_job(self, request: pb.CreateJobRequest) -> pb.Job:
        """`CreateJob`; a `request_id` is added when missing so that retries are safe."""
        if not request.request_id:
            request.request_id = f"spectra-bulk-py-{uuid.uuid4()}"
        job: pb.Job = self._unary("creating the job", self._stub.CreateJob, request)
        return job

    def job(self, job_id: str) -> pb.Job:
        """`GetJob`."""
        job: pb.Job = self._unary(f"reading job {job_id}", self._stub.GetJob, pb.GetJobRequest(job_id=job_id))
        return job

    def close_job(self, job_id: str) -> pb.Job:
        """Closes the upload: the job moves to `UploadComplete` and processing starts."""
        request = pb.UpdateJobStateRequest(job_id=job_id, state=pb.JOB_STATE_UPLOAD_COMPLETE)
        job: pb.Job = self._unary(f"closing job {job_id}", self._stub.UpdateJobState, request)
        return job

    def abort_job(self, job_id: str) -> pb.Job:
        """Aborts the job."""
        request = pb.UpdateJobStateRequest(job_id=job_id, state=pb.JOB_STATE_ABORTED)
        job: pb.Job = self._unary(f"aborting job {job_id}", self._stub.UpdateJobState, request)
        return job

    def delete_job(self, job_id: str) -> None:
        """Deletes a terminal job with its data and results."""
        self._unary(f"deleting job {job_id}", self._stub.DeleteJob, pb.DeleteJobRequest(job_id=job_id))

    def jobs(self, state: Optional[pb.JobState] = None, page_size: int = 100) -> Iterator[pb.Job]:
        """The tenant's jobs, newest first, page after page."""
        token = ""
        while True:
            request = pb.ListJobsRequest(state=state or pb.JOB_STATE_UNSPECIFIED, limit=page_size, page_token=token)
            page = self._unary("listing jobs", self._stub.ListJobs, request)
            yield from page.jobs
            token = page.next_page_token
            if not token:
                return

    def watch(self, job_id: str, progress: Union[bool, Callable[[pb.Job], None]] = False) -> pb.Job:
        """Follows `WatchJob` until the job is terminal and returns it; a broken stream is
        watched again. `progress` is `True` for a line on standard error per update, or a
        function called with each update."""
        report = _progress_function(progress)
        delay = self.backoff
        while True:
            try:
                updates: Iterator[pb.Job] = self._stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=self._metadata)
                for job in updates:
                    report(job)
                    if job.state in _TERMINAL:
                        return job
                # The stream ends after a terminal state; an early end is watched again.
            except grpc.RpcError as error:
                if error.code() not in _RETRIED:
                    raise BulkError(
                        f"watching job {job_id}: {error.code().name}: {error.details()}",
                        error.code(),
                        job_id,
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    # -- load -----------------------------------------------------------------------------------

    def load(
        self,
        source: Source,
        object: str,
        operation: str = "insert",
        external_id: Optional[str] = None,
        format: Optional[str] = None,
        gzip: Optional[bool] = None,
        progress: Union[bool, Callable[[pb.Job], None]] = True,
        *,
        column_delimiter: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> LoadResult:
        """Loads records into the table `object` and waits for the job to end.

        `source` is a path (`.csv`, `.json`, `.ndjson`/`.jsonl`, each optionally `.gz`), an
        iterable of mappings (sent as newline-delimited JSON), an iterable of `bytes` (sent as
        they are: give `format`), or a pandas DataFrame (sent as newline-delimited JSON).
        `operation` is insert, update, upsert or delete; `external_id` the key column (required
        for upsert). `gzip=True` compresses what is sent (a `.gz` path is sent as it is).

        The data goes in 1 MiB messages; when the stream breaks, the upload resumes from the
        job's `bytes_uploaded`. The result has the counts and iterators over the successful,
        failed and unprocessed records; a job that failed or was aborted raises `BulkError`
        only if it processed nothing, so partial results stay reachable.
        """
        if operation not in _OPERATIONS:
            raise ValueError(f"operation {operation!r} is not one of {', '.join(_OPERATIONS)}")
        with _Upload.prepare(source, format, gzip) as upload:
            request = pb.CreateJobRequest(
                operation=_OPERATIONS[operation],
                object=object,
                content_type=_FORMATS[upload.format],
                compression=pb.COMPRESSION_GZIP if upload.gzip else pb.COMPRESSION_NONE,
                external_id_field=external_id or "",
                column_delimiter=column_delimiter or "",
                request_id=request_id or "",
            )
            job = self.create_job(request)
            self._upload(job.job_id, upload.file, upload.size)
        self.close_job(job.job_id)
        done = self.watch(job.job_id, progress)
        return LoadResult(self, done)

    def _upload(self, job_id: str, file: IO[bytes], size: int) -> None:
        """Sends `file` from the job's stored size on, until the server holds all `size` bytes."""
        delay = self.backoff
        failures = 0
        offset = 0
        while True:
            file.seek(offset)
            try:
                response = self._stub.UploadJobData(
                    _messages(job_id, file, offset), metadata=self._metadata, timeout=max(self.timeout, 600)
                )
                offset = response.bytes_uploaded
            except grpc.RpcError as error:
                code = error.code()
                if code not in _RETRIED and code != grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise BulkError(f"uploading to job {job_id}: {code.name}: {error.details()}", code, job_id) from error
                failures += 1
                if failures > self.retries:
                    raise BulkError(f"uploading to job {job_id}: {code.name} {failures} times", code, job_id) from error
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 10.0)
                offset = self.job(job_id).bytes_uploaded
                continue
            if offset >= size:
                return
            failures = 0

    # -- query ----------------------------------------------------------------------------------

    def query(
        self,
        sql: str,
        object: str,
        *,
        typed: bool = False,
        dataframe: bool = False,
        page_records: int = 50_000,
        progress: Union[bool, Callable[[pb.Job], None]] = False,
    ) -> Any:
        """Runs a query job and yields its rows as dicts.

        `object` names the query's main table. With `typed=True` the rows come as typed values
        (int, float, bool, bytes, datetime, None) from `RecordBatch`; otherwise as the CSV's
        strings. With `dataframe=True` the result is one pandas DataFrame (typed; needs the
        `pandas` extra). Results are read `page_records` at a time.
        """
        content_type = pb.CONTENT_TYPE_RECORD_BATCH if typed or dataframe else pb.CONTENT_TYPE_CSV
        job = self.create_job(
            pb.CreateJobRequest(operation=pb.OPERATION_QUERY, object=object, query=sql, content_type=content_type)
        )
        self.close_job(job.job_id)
        done = self.watch(job.job_id, progress)
        if done.state != pb.JOB_STATE_JOB_COMPLETE:
            reason = f": {done.error_message}" if done.error_message else ""
            raise BulkError(f"query job {done.job_id} ended {state_name(done.state)}{reason}", job_id=done.job_id)
        if dataframe:
            return _dataframe(self, done, page_records)
        if typed:
            return typed_rows(self, done, pb.RESULT_SET_QUERY, page_records)
        return query_rows(self, done, pb.RESULT_SET_QUERY, page_records)


def _dataframe(client: Client, job: pb.Job, page_records: int) -> Any:
    try:
        import pandas
    except ImportError as error:
        raise ImportError("dataframe=True needs pandas: pip install 'spectra-bulk[pandas]'") from error
    columns: list[str] = []

    def rows() -> Iterator[list[Any]]:
        for batch_columns, values in typed_rows(client, job, pb.RESULT_SET_QUERY, page_records, batches=True):
            columns[:] = batch_columns
            yield from values

    data = list(rows())
    return pandas.DataFrame.from_records(data, columns=columns or None)


def _messages(job_id: str, file: IO[bytes], offset: int) -> Iterator[pb.UploadJobDataRequest]:
    """The rest of `file`, from `offset`, in 1 MiB messages."""
    while data := file.read(MESSAGE_BYTES):
        yield pb.UploadJobDataRequest(job_id=job_id, offset=offset, data=data)
        offset += len(data)


def _progress_function(progress: Union[bool, Callable[[pb.Job], None]]) -> Callable[[pb.Job], None]:
    if callable(progress):
        return progress
    if not progress:
        return lambda job: None

    def report(job: pb.Job) -> None:
        sys.stderr.write(
            f"job {job.job_id}: {state_name(job.state)}, "
            f"{job.number_records_processed} records processed, {job.number_records_failed} failed, "
            f"{job.progress_percentage}%\n"
        )

    return report


class _Upload:
    """What `load` sends: a seekable file (the caller's, or a spool of an iterable), its size,
    format and compression. Iterables are spooled so that a broken upload can be resumed."""

    def __init__(self, file: IO[bytes], size: int, format: str, gzip: bool):
        self.file, self.size, self.format, self.gzip = file, size, format, gzip

    def __enter__(self) -> "_Upload":
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    @classmethod
    def prepare(cls, source: Source, format: Optional[str], gzip: Optional[bool]) -> "_Upload":
        if isinstance(source, (str, os.PathLike)):
            return cls._path(os.fspath(source), format, gzip)
        if hasattr(source, "to_json") and hasattr(source, "columns"):
            return cls._spool(_dataframe_lines(source), format or "json", bool(gzip), "json")
        iterator = iter(source)
        first = next(iterator, None)
        if first is None:
            return cls._spool(iter(()), format or "json", bool(gzip), format or "json")
        rest = _chain(first, iterator)
        if isinstance(first, (bytes, bytearray, memoryview)):
            if format is None:
                raise ValueError("an iterable of bytes needs format='csv' or format='json'")
            return cls._spool(rest, format, bool(gzip), None)
        if isinstance(first, Mapping):
            return cls._spool((_json_line(record) for record in rest), format or "json", bool(gzip), "json")
        raise TypeError(f"cannot load {type(first).__name__} items: give mappings or bytes")

    @classmethod
    def _path(cls, path: str, format: Optional[str], gzip: Optional[bool]) -> "_Upload":
        name = path.lower()
        compressed = name.endswith(".gz")
        if compressed:
            name = name[:-3]
        if format is None:
            if name.endswith(".csv"):
                format = "csv"
            elif name.endswith((".json", ".ndjson", ".jsonl")):
                format = "json"
            else:
                raise ValueError(f"cannot tell the format of {path}: give format='csv' or format='json'")
        _check_format(format)
        if gzip and not compressed:
            with open(path, "rb") as f:
                return cls._spool(iter(lambda: f.read(MESSAGE_BYTES), b""), format, True, None)
        file = open(path, "rb")
        return cls(file, os.fstat(file.fileno()).st_size, format, compressed)

    @classmethod
    def _spool(cls, pieces: Iterator[bytes], format: str, gzip: bool, produced: Optional[str]) -> "_Upload":
        _check_format(format)
        if produced is not None and format != produced:
            raise ValueError(f"records are sent as {produced}, not {format}")
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=64 << 20)
        target: IO[bytes] = gzip_module.GzipFile(fileobj=spool, mode="wb", compresslevel=1) if gzip else spool  # type: ignore[assignment]
        buffer = io.BufferedWriter(_Unclosing(target), buffer_size=MESSAGE_BYTES)
        for piece in pieces:
            buffer.write(piece)
        buffer.flush()
        if gzip:
            target.close()
        size = spool.tell()
        spool.seek(0)
        return cls(spool, size, format, gzip)


class _Unclosing(io.RawIOBase):
    """A writable view of a file that `BufferedWriter` may close without closing the file."""

    def __init__(self, file: IO[bytes]):
        self._file = file

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._file.write(data)


def _check_format(format: str) -> None:
    if format not in _FORMATS:
        raise ValueError(f"format {format!r} is not one of csv, json")


def _chain(first: T, rest: Iterator[T]) -> Iterator[T]:
    yield first
    yield from rest


def _json_line(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), default=_json_default) + "\n").encode()


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dataframe_lines(frame: Any) -> Iterator[bytes]:
    """The DataFrame as newline-delimited JSON, 10,000 rows at a time (missing values are null)."""
    for start in range(0, len(frame), 10_000):
        text = frame.iloc[start : start + 10_000].to_json(orient="records", lines=True, date_format="iso")
        if text:
            yield text.encode() if text.endswith("\n") else (text + "\n").encode()


__all__ = ["BulkError", "Client", "MESSAGE_BYTES", "TLS"]
