"""The real server (SPECTRA_BULK_BINARY, or the repository's debug build) for the package's
tests, with tenant acme and its tables, and a TCP proxy that can cut a connection."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import threading
from typing import Callable, Iterator

import pytest

from spectra_bulk import Client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BINARY = os.environ.get("SPECTRA_BULK_BINARY", os.path.join(ROOT, ".build", "debug", "spectra-bulk"))
TOKEN = "acme-python-token"

TABLES = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT)",
    "CREATE TABLE measures (id INTEGER PRIMARY KEY, label TEXT, score REAL, count INTEGER)",
    "CREATE TABLE numbers (id INTEGER PRIMARY KEY, square INTEGER NOT NULL)",
    "CREATE TABLE frames (id INTEGER PRIMARY KEY, label TEXT, score REAL)",
]


@pytest.fixture(scope="session")
def data_dir() -> str:
    return tempfile.mkdtemp(prefix="spectra-py-client-")


@pytest.fixture(scope="session")
def warehouse(data_dir: str) -> str:
    """The path of tenant acme's embedded warehouse."""
    return os.path.join(data_dir, "spectra", "warehouse", "acme.sqlite")


@pytest.fixture(scope="session")
def server(data_dir: str, warehouse: str) -> Iterator[str]:
    """The gRPC address, HOST:PORT, of a server with tenant acme."""
    assert os.path.exists(BINARY), f"{BINARY} is missing: run `swift build` first"
    tenants = os.path.join(data_dir, "tenants.json")
    with open(tenants, "w") as f:
        json.dump({"tenants": [{"id": "acme", "tokens": ["sha256:" + hashlib.sha256(TOKEN.encode()).hexdigest()]}]}, f)
    os.makedirs(os.path.dirname(warehouse))
    with sqlite3.connect(warehouse) as connection:
        for statement in TABLES:
            connection.execute(statement)
    process = subprocess.Popen(
        [BINARY, "serve", "--grpc-port", "0", "--http-port", "0", "--data-dir", os.path.join(data_dir, "spectra"),
         "--tenants", tenants],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(2)]  # type: ignore[union-attr]
        address = [line.removeprefix("grpc listening on ") for line in lines if line.startswith("grpc listening on ")]
        assert address, f"unexpected first lines: {lines!r}"
        yield address[0]
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, "the server did not shut down cleanly on SIGTERM"


@pytest.fixture()
def client(server: str) -> Iterator[Client]:
    with Client(server, TOKEN, tenant="acme") as client:
        yield client


class CuttingProxy:
    """Forwards TCP connections to `upstream`; `cut_after(n, when)` closes the connection, both
    ways, once `n` bytes went from client to server and `when()` holds, one time only. Later
    connections pass."""

    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.cuts = 0
        self.connections = 0
        self._cut_at: int | None = None
        self._when: Callable[[], bool] = lambda: True
        self._sent = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, count: int, when: Callable[[], bool] = lambda: True) -> None:
        with self._lock:
            self._cut_at, self._sent, self._when = count, 0, when

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(downstream, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted:
                    with self._lock:
                        self._sent += len(data)
                        cut = self._cut_at is not None and self._sent >= self._cut_at and self._when()
                        if cut:
                            self._cut_at = None
                            self.cuts += 1
                    if cut:
                        break
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()


@pytest.fixture()
def proxy(server: str) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(server)
    yield proxy
    proxy.close()
