"""Spectra Bulk: a Python client of the bulk-data gRPC API.

    from spectra_bulk import Client

    with Client("127.0.0.1:50051", token="…") as client:
        result = client.load("customers.csv", object="customers")
        print(result.records_processed, result.records_failed)
        for record in result.failed():
            print(record["_record"], record["_error"])
        for row in client.query("SELECT id, name FROM customers", object="customers", typed=True):
            print(row)

The generated stubs are importable too, as `spectra.bulk.v1.bulk_pb2` and `bulk_pb2_grpc`.
"""

from ._client import MESSAGE_BYTES, TLS, BulkError, Client
from ._results import LoadResult
from ._version import PROTO_PACKAGE, __version__

__all__ = ["BulkError", "Client", "LoadResult", "MESSAGE_BYTES", "PROTO_PACKAGE", "TLS", "__version__"]
