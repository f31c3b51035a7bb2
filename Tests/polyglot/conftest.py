"""Shared by the polyglot checks: the Python stubs generated from Protos/ with grpcio-tools, and
the real server (SPECTRA_BULK_BINARY, or the debug build) with two tenants.
"""

import contextlib
import hashlib
import importlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

import grpc
import pytest
from grpc_tools import protoc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("SPECTRA_BULK_BINARY", os.path.join(ROOT, ".build", "debug", "spectra-bulk"))
TOKENS = {"acme": "acme-secret-token", "globex": "globex-secret-token"}


@pytest.fixture(scope="module")
def stubs():
    out = tempfile.mkdtemp(prefix="spectra-py-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"--proto_path={os.path.join(ROOT, 'Protos')}",
            f"--proto_path={include}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            "spectra/bulk/v1/bulk.proto",
        ]
    )
    assert status == 0, "grpc_tools.protoc failed"
    sys.path.insert(0, out)
    pb2 = importlib.import_module("spectra.bulk.v1.bulk_pb2")
    pb2_grpc = importlib.import_module("spectra.bulk.v1.bulk_pb2_grpc")
    return pb2, pb2_grpc


@contextlib.contextmanager
def launch_server(*arguments):
    """A server process with the two tenants on a fresh data directory, and its gRPC address;
    on leaving, SIGTERM and a clean exit are expected (unless the test stopped it itself)."""
    assert os.path.exists(BINARY), f"{BINARY} is missing: run `swift build` first"
    data = tempfile.mkdtemp(prefix="spectra-data-")
    tenants = os.path.join(data, "tenants.json")
    with open(tenants, "w") as f:
        json.dump(
            {
                "tenants": [
                    {"id": tenant, "tokens": ["sha256:" + hashlib.sha256(token.encode()).hexdigest()]}
                    for tenant, token in TOKENS.items()
                ]
            },
            f,
        )
    # The embedded warehouse of tenant acme, with the table the jobs below name.
    os.makedirs(os.path.join(data, "spectra", "warehouse"))
    with sqlite3.connect(os.path.join(data, "spectra", "warehouse", "acme.sqlite")) as warehouse:
        warehouse.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    process = subprocess.Popen(
        [BINARY, "serve", "--grpc-port", "0", "--http-port", "0", "--data-dir", os.path.join(data, "spectra"), "--tenants", tenants, *arguments],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # One line per surface, in either order.
        lines = [process.stdout.readline().strip() for _ in range(2)]
        grpc_lines = [line for line in lines if line.startswith("grpc listening on ")]
        assert grpc_lines, f"unexpected first lines: {lines!r}"
        yield process, grpc_lines[0].removeprefix("grpc listening on ")
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, "the server did not shut down cleanly on SIGTERM"


@pytest.fixture(scope="module")
def server_process():
    with launch_server() as launched:
        yield launched


@pytest.fixture(scope="module")
def server(server_process):
    """The server's gRPC address, HOST:PORT."""
    return server_process[1]


@pytest.fixture(scope="module")
def server_alive(server_process):
    """Whether the server process still runs."""
    return lambda: server_process[0].poll() is None


@pytest.fixture(scope="module")
def server_pid(server_process):
    return server_process[0].pid


@pytest.fixture(scope="module")
def client(stubs, server):
    _, pb2_grpc = stubs
    with grpc.insecure_channel(server) as channel:
        yield pb2_grpc.BulkServiceStub(channel)


def auth(tenant):
    return [("authorization", f"Bearer {TOKENS[tenant]}")]


def expect_code(code, call, *args, **kwargs):
    with pytest.raises(grpc.RpcError) as raised:
        call(*args, **kwargs)
    assert raised.value.code() == code, raised.value.details()
    return raised.value.details()
