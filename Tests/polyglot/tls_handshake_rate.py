"""The TLS handshake's cost on loopback: connections per second with and without TLS (and with
mTLS), each a fresh TCP connection and handshake doing one small call, REST `GET /healthz`
(http.client) and gRPC `GetJob` of a missing job (grpcio, a new channel per call), with the
server's CPU time per connection. Prints figures; judges nothing (not collected by pytest).

    swift build -c release --product spectra-bulk
    python3 Tests/polyglot/tls_handshake_rate.py --binary .build/release/spectra-bulk [-n 1000] [--rsa]
"""

import argparse
import http.client
import importlib
import os
import ssl
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

from conftest import BINARY, ROOT
from pki import make_pki

TOKEN = "handshake-token"


def stubs():
    out = tempfile.mkdtemp(prefix="spectra-py-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    arguments = ["protoc", f"--proto_path={ROOT}/Protos", f"--proto_path={include}", f"--python_out={out}",
                 f"--grpc_python_out={out}", "spectra/bulk/v1/bulk.proto"]
    assert protoc.main(arguments) == 0, "grpc_tools.protoc failed"
    sys.path.insert(0, out)
    return importlib.import_module("spectra.bulk.v1.bulk_pb2"), importlib.import_module("spectra.bulk.v1.bulk_pb2_grpc")


def start(binary, *extra):
    """The server on free loopback ports: the process and its ports by surface."""
    data = tempfile.mkdtemp(prefix="spectra-handshake-")
    process = subprocess.Popen(
        [binary, "serve", "--grpc-port", "0", "--http-port", "0", "--data-dir", data, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "SPECTRA_DEV_TOKEN": TOKEN},
    )
    ports = {}
    while len(ports) < 2:
        line = process.stdout.readline()
        assert line, "the server exited before listening"
        for surface in ("grpc", "http"):
            if line.startswith(f"{surface} listening on "):
                ports[surface] = int(line.strip().rsplit(":", 1)[1])
    return process, ports


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rest(port, context, n):
    started = time.perf_counter()
    for _ in range(n):
        if context:
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        connection.close()
    return n / (time.perf_counter() - started)


def rpc(port, credentials, n, pb2, pb2_grpc):
    started = time.perf_counter()
    for _ in range(n):
        target = f"127.0.0.1:{port}"
        channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
        try:
            pb2_grpc.BulkServiceStub(channel).GetJob(
                pb2.GetJobRequest(job_id="bulk-job-none"), metadata=[("authorization", f"Bearer {TOKEN}")], timeout=10
            )
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
        channel.close()
    return n / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=BINARY)
    parser.add_argument("-n", type=int, default=1000, help="connections per run (3 runs per case)")
    parser.add_argument("--rsa", action="store_true", help="an RSA-2048 server key instead of EC P-256")
    options = parser.parse_args()
    pb2, pb2_grpc = stubs()
    pki = tempfile.mkdtemp(prefix="spectra-pki-")
    if options.rsa:
        make_pki(pki, server_key=["-newkey", "rsa:2048", "-nodes"])
    else:
        make_pki(pki)

    def read(name):
        with open(os.path.join(pki, name), "rb") as f:
            return f.read()

    tls = ["--tls-cert", f"{pki}/server.pem", "--tls-key", f"{pki}/server.key"]
    context = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    client_context = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    client_context.load_cert_chain(f"{pki}/client.pem", f"{pki}/client.key")
    credentials = grpc.ssl_channel_credentials(root_certificates=read("ca.pem"))
    client_credentials = grpc.ssl_channel_credentials(
        root_certificates=read("ca.pem"), private_key=read("client.key"), certificate_chain=read("client.pem")
    )
    cases = [
        ("plaintext", [], None, None),
        ("TLS", tls, context, credentials),
        ("mTLS", tls + ["--tls-client-ca", f"{pki}/ca.pem"], client_context, client_credentials),
    ]
    n = options.n
    for name, arguments, http_context, grpc_credentials in cases:
        process, ports = start(options.binary, *arguments)
        try:
            rest(ports["http"], http_context, n // 10)
            rpc(ports["grpc"], grpc_credentials, n // 10, pb2, pb2_grpc)
            before = cpu_seconds(process.pid)
            rest_rates = [rest(ports["http"], http_context, n) for _ in range(3)]
            between = cpu_seconds(process.pid)
            grpc_rates = [rpc(ports["grpc"], grpc_credentials, n, pb2, pb2_grpc) for _ in range(3)]
            after = cpu_seconds(process.pid)
            print(
                f"{name:9s} REST {sum(rest_rates) / 3:6.0f} conn/s ({' '.join(f'{r:.0f}' for r in rest_rates)}), "
                f"server CPU {1000 * (between - before) / (3 * n):.2f} ms/conn | "
                f"gRPC {sum(grpc_rates) / 3:5.0f} conn/s ({' '.join(f'{r:.0f}' for r in grpc_rates)}), "
                f"server CPU {1000 * (after - between) / (3 * n):.2f} ms/conn",
                flush=True,
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
