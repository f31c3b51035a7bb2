import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_OPEN: _ClassVar[JobState]
    JOB_STATE_UPLOAD_COMPLETE: _ClassVar[JobState]
    JOB_STATE_IN_PROGRESS: _ClassVar[JobState]
    JOB_STATE_JOB_COMPLETE: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_ABORTED: _ClassVar[JobState]

class Operation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATION_UNSPECIFIED: _ClassVar[Operation]
    OPERATION_QUERY: _ClassVar[Operation]
    OPERATION_INSERT: _ClassVar[Operation]
    OPERATION_UPDATE: _ClassVar[Operation]
    OPERATION_UPSERT: _ClassVar[Operation]
    OPERATION_DELETE: _ClassVar[Operation]

class ContentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTENT_TYPE_UNSPECIFIED: _ClassVar[ContentType]
    CONTENT_TYPE_CSV: _ClassVar[ContentType]
    CONTENT_TYPE_JSON: _ClassVar[ContentType]
    CONTENT_TYPE_RECORD_BATCH: _ClassVar[ContentType]

class Compression(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPRESSION_UNSPECIFIED: _ClassVar[Compression]
    COMPRESSION_NONE: _ClassVar[Compression]
    COMPRESSION_GZIP: _ClassVar[Compression]

class ResultSet(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_SET_UNSPECIFIED: _ClassVar[ResultSet]
    RESULT_SET_SUCCESSFUL: _ClassVar[ResultSet]
    RESULT_SET_FAILED: _ClassVar[ResultSet]
    RESULT_SET_UNPROCESSED: _ClassVar[ResultSet]
    RESULT_SET_QUERY: _ClassVar[ResultSet]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_OPEN: JobState
JOB_STATE_UPLOAD_COMPLETE: JobState
JOB_STATE_IN_PROGRESS: JobState
JOB_STATE_JOB_COMPLETE: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_ABORTED: JobState
OPERATION_UNSPECIFIED: Operation
OPERATION_QUERY: Operation
OPERATION_INSERT: Operation
OPERATION_UPDATE: Operation
OPERATION_UPSERT: Operation
OPERATION_DELETE: Operation
CONTENT_TYPE_UNSPECIFIED: ContentType
CONTENT_TYPE_CSV: ContentType
CONTENT_TYPE_JSON: ContentType
CONTENT_TYPE_RECORD_BATCH: ContentType
COMPRESSION_UNSPECIFIED: Compression
COMPRESSION_NONE: Compression
COMPRESSION_GZIP: Compression
RESULT_SET_UNSPECIFIED: ResultSet
RESULT_SET_SUCCESSFUL: ResultSet
RESULT_SET_FAILED: ResultSet
RESULT_SET_UNPROCESSED: ResultSet
RESULT_SET_QUERY: ResultSet

class Job(_message.Message):
    __slots__ = ("job_id", "state", "operation", "object", "content_type", "compression", "query", "external_id_field", "created_at", "updated_at", "number_records_processed", "number_records_failed", "progress_percentage", "bytes_uploaded", "error_message", "tenant_id", "number_records_total", "total_processing_time_ms", "column_delimiter", "number_chunks", "number_chunks_completed")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    NUMBER_RECORDS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    NUMBER_RECORDS_FAILED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    BYTES_UPLOADED_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_RECORDS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PROCESSING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    COLUMN_DELIMITER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    NUMBER_CHUNKS_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    operation: Operation
    object: str
    content_type: ContentType
    compression: Compression
    query: str
    external_id_field: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    number_records_processed: int
    number_records_failed: int
    progress_percentage: int
    bytes_uploaded: int
    error_message: str
    tenant_id: str
    number_records_total: int
    total_processing_time_ms: int
    column_delimiter: str
    number_chunks: int
    number_chunks_completed: int
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., operation: _Optional[_Union[Operation, str]] = ..., object: _Optional[str] = ..., content_type: _Optional[_Union[ContentType, str]] = ..., compression: _Optional[_Union[Compression, str]] = ..., query: _Optional[str] = ..., external_id_field: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., number_records_processed: _Optional[int] = ..., number_records_failed: _Optional[int] = ..., progress_percentage: _Optional[int] = ..., bytes_uploaded: _Optional[int] = ..., error_message: _Optional[str] = ..., tenant_id: _Optional[str] = ..., number_records_total: _Optional[int] = ..., total_processing_time_ms: _Optional[int] = ..., column_delimiter: _Optional[str] = ..., number_chunks: _Optional[int] = ..., number_chunks_completed: _Optional[int] = ...) -> None: ...

class RecordBatch(_message.Message):
    __slots__ = ("columns", "rows")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ...) -> None: ...

class Row(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[Value]
    def __init__(self, values: _Optional[_Iterable[_Union[Value, _Mapping]]] = ...) -> None: ...

class Value(_message.Message):
    __slots__ = ("null_value", "string_value", "int_value", "double_value", "bool_value", "bytes_value", "timestamp_value")
    NULL_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    BYTES_VALUE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_VALUE_FIELD_NUMBER: _ClassVar[int]
    null_value: _struct_pb2.NullValue
    string_value: str
    int_value: int
    double_value: float
    bool_value: bool
    bytes_value: bytes
    timestamp_value: _timestamp_pb2.Timestamp
    def __init__(self, null_value: _Optional[_Union[_struct_pb2.NullValue, str]] = ..., string_value: _Optional[str] = ..., int_value: _Optional[int] = ..., double_value: _Optional[float] = ..., bool_value: _Optional[bool] = ..., bytes_value: _Optional[bytes] = ..., timestamp_value: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("operation", "object", "content_type", "compression", "query", "external_id_field", "column_delimiter", "request_id")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_FIELD_NUMBER: _ClassVar[int]
    COLUMN_DELIMITER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    operation: Operation
    object: str
    content_type: ContentType
    compression: Compression
    query: str
    external_id_field: str
    column_delimiter: str
    request_id: str
    def __init__(self, operation: _Optional[_Union[Operation, str]] = ..., object: _Optional[str] = ..., content_type: _Optional[_Union[ContentType, str]] = ..., compression: _Optional[_Union[Compression, str]] = ..., query: _Optional[str] = ..., external_id_field: _Optional[str] = ..., column_delimiter: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("state", "limit", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    limit: int
    page_token: str
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateJobStateRequest(_message.Message):
    __slots__ = ("job_id", "state")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ...) -> None: ...

class UploadJobDataRequest(_message.Message):
    __slots__ = ("job_id", "offset", "data", "records")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    offset: int
    data: bytes
    records: RecordBatch
    def __init__(self, job_id: _Optional[str] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ..., records: _Optional[_Union[RecordBatch, _Mapping]] = ...) -> None: ...

class UploadJobDataResponse(_message.Message):
    __slots__ = ("job_id", "bytes_uploaded", "records_received")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    BYTES_UPLOADED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    bytes_uploaded: int
    records_received: int
    def __init__(self, job_id: _Optional[str] = ..., bytes_uploaded: _Optional[int] = ..., records_received: _Optional[int] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResultsRequest(_message.Message):
    __slots__ = ("job_id", "result_set", "locator", "max_records")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_SET_FIELD_NUMBER: _ClassVar[int]
    LOCATOR_FIELD_NUMBER: _ClassVar[int]
    MAX_RECORDS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    result_set: ResultSet
    locator: str
    max_records: int
    def __init__(self, job_id: _Optional[str] = ..., result_set: _Optional[_Union[ResultSet, str]] = ..., locator: _Optional[str] = ..., max_records: _Optional[int] = ...) -> None: ...

class ResultChunk(_message.Message):
    __slots__ = ("data", "record_count", "next_locator", "records")
    DATA_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEXT_LOCATOR_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    record_count: int
    next_locator: str
    records: RecordBatch
    def __init__(self, data: _Optional[bytes] = ..., record_count: _Optional[int] = ..., next_locator: _Optional[str] = ..., records: _Optional[_Union[RecordBatch, _Mapping]] = ...) -> None: ...

class DeleteJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DeleteJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
