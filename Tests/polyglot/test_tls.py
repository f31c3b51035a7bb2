"""Polyglot TLS check: a Python grpcio client with root certificates (and, for mTLS, a client
certificate) against the real server started with --tls-cert/--tls-key (and --tls-client-ca).
The PKI is made with the openssl command (pki.py).
"""

import os
import subprocess
import tempfile

import grpc
import pytest

from conftest import BINARY, expect_code
from pki import make_pki

TOKEN = "py-tls-token"
AUTH = [("authorization", f"Bearer {TOKEN}")]


@pytest.fixture(scope="module")
def pki():
    """The PEM files of pki.make_pki, and a reader of them."""
    directory = tempfile.mkdtemp(prefix="spectra-pki-")
    make_pki(directory)

    def read(name):
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()

    return directory, read


def start(pki_directory, *extra):
    """The binary with TLS on loopback, the development tenant's token set; its gRPC address."""
    assert os.path.exists(BINARY), f"{BINARY} is missing: run `swift build` first"
    data = tempfile.mkdtemp(prefix="spectra-tls-data-")
    process = subprocess.Popen(
        [
            BINARY, "serve", "--grpc-port", "0", "--http-port", "0", "--data-dir", data,
            "--tls-cert", os.path.join(pki_directory, "server.pem"),
            "--tls-key", os.path.join(pki_directory, "server.key"), *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SPECTRA_DEV_TOKEN": TOKEN},
    )
    lines = [process.stdout.readline().strip() for _ in range(2)]
    grpc_lines = [line for line in lines if line.startswith("grpc listening on ")]
    assert grpc_lines, f"unexpected first lines: {lines!r}"
    return process, grpc_lines[0].removeprefix("grpc listening on ")


def stop(process):
    process.terminate()
    assert process.wait(timeout=30) == 0, "the server did not shut down cleanly on SIGTERM"


@pytest.fixture(scope="module")
def tls_server(pki):
    process, address = start(pki[0])
    yield address
    stop(process)


@pytest.fixture(scope="module")
def mtls_server(pki):
    process, address = start(pki[0], "--tls-client-ca", os.path.join(pki[0], "ca.pem"))
    yield address
    stop(process)


def create_job(stubs, channel):
    pb2, pb2_grpc = stubs
    request = pb2.CreateJobRequest(operation=pb2.OPERATION_INSERT, object="customers")
    return pb2_grpc.BulkServiceStub(channel).CreateJob(request, metadata=AUTH, timeout=20)


def test_root_certificates(stubs, pki, tls_server):
    _, read = pki
    credentials = grpc.ssl_channel_credentials(root_certificates=read("ca.pem"))
    with grpc.secure_channel(tls_server, credentials) as channel:
        job = create_job(stubs, channel)
    assert job.tenant_id == "tenant-123"


def test_untrusted_and_plaintext_clients_fail(stubs, tls_server):
    # The system's roots do not hold the test CA.
    with grpc.secure_channel(tls_server, grpc.ssl_channel_credentials()) as channel:
        expect_code(grpc.StatusCode.UNAVAILABLE, create_job, stubs, channel)
    with grpc.insecure_channel(tls_server) as channel:
        expect_code(grpc.StatusCode.UNAVAILABLE, create_job, stubs, channel)


def test_mutual_tls(stubs, pki, mtls_server):
    _, read = pki
    roots = read("ca.pem")
    with grpc.secure_channel(mtls_server, grpc.ssl_channel_credentials(root_certificates=roots)) as channel:
        expect_code(grpc.StatusCode.UNAVAILABLE, create_job, stubs, channel)
    stranger = grpc.ssl_channel_credentials(
        root_certificates=roots, private_key=read("stranger.key"), certificate_chain=read("stranger.pem")
    )
    with grpc.secure_channel(mtls_server, stranger) as channel:
        expect_code(grpc.StatusCode.UNAVAILABLE, create_job, stubs, channel)
    client = grpc.ssl_channel_credentials(
        root_certificates=roots, private_key=read("client.key"), certificate_chain=read("client.pem")
    )
    with grpc.secure_channel(mtls_server, client) as channel:
        job = create_job(stubs, channel)
    assert job.state == stubs[0].JOB_STATE_OPEN
