"""HTTP/2 abuse and a stalled reader, from a raw peer, as RELIABILITY.md promises.

Each flood sends one connection frames a hostile or broken client might send (bounded in count and
time, loopback only) and expects the server to answer with GOAWAY or by closing that connection;
then the server process is alive and a second, well-behaved gRPC client gets an answer at once. A
client that stops reading a large download leaves the server's memory flat.
"""

import socket
import struct
import time

import grpc
import hpack

from conftest import TOKENS, auth

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0x1, 0x3, 0x4, 0x6, 0x7, 0x9
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


class FrameReader:
    """Splits what the server sends into frames; keeps only their types."""

    def __init__(self):
        self.buffer = b""

    def feed(self, data):
        self.buffer += data
        kinds = []
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                break
            kinds.append(self.buffer[3])
            self.buffer = self.buffer[9 + length :]
        return kinds


def request_headers(authority, method="ListJobs", extra=()):
    """The header block of a gRPC call to `method`, with `extra` headers after the usual ones."""
    return hpack.Encoder().encode(
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", f"/spectra.bulk.v1.BulkService/{method}"),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            *extra,
        ]
    )


def flood(server, frames, seconds=10):
    """Sends the preface, then `frames` (an iterable of bytes) for at most `seconds`, reading what
    the server sends; returns whether the server sent GOAWAY or closed the connection."""
    host, port = server.rsplit(":", 1)
    ended = False
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
        sock.setblocking(False)
        deadline = time.monotonic() + seconds
        pending = b""
        frames_in = FrameReader()
        iterator = iter(frames)
        exhausted = False
        while time.monotonic() < deadline and not ended:
            if not pending and not exhausted:
                pending = b"".join(next(iterator, b"") for _ in range(256))
                if not pending:
                    # Everything is sent: read the server's answer for a little longer.
                    exhausted = True
                    deadline = min(deadline, time.monotonic() + 2)
            if not pending:
                time.sleep(0.01)
            try:
                if pending:
                    pending = pending[sock.send(pending) :]
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                ended = True
                break
            try:
                data = sock.recv(1 << 20)
                if not data:
                    ended = True
                    break
                if GOAWAY in frames_in.feed(data):
                    ended = True
            except BlockingIOError:
                pass
            except ConnectionResetError:
                ended = True
                break
    return ended


def assert_still_serving(server, stubs, process_alive):
    pb2, pb2_grpc = stubs
    assert process_alive(), "the server process died"
    with grpc.insecure_channel(server) as channel:
        stub = pb2_grpc.BulkServiceStub(channel)
        started = time.monotonic()
        stub.ListJobs(pb2.ListJobsRequest(), metadata=auth("acme"), timeout=5)
        assert time.monotonic() - started < 5


def test_rapid_reset(server, stubs, server_alive):
    """Streams opened and cancelled at once, 20,000 times (CVE-2023-44487)."""
    block = request_headers(server)
    frames = (
        frame(HEADERS, END_HEADERS, stream, block) + frame(RST_STREAM, 0, stream, struct.pack(">I", 0x8))
        for stream in range(1, 40_001, 2)
    )
    assert flood(server, frames), "the server kept taking streams reset at once"
    assert_still_serving(server, stubs, server_alive)


def test_ping_flood(server, stubs, server_alive):
    """Keepalive abuse: pings back to back with no call open."""
    assert flood(server, (frame(PING, 0, 0, struct.pack(">Q", n)) for n in range(100_000))), "no GOAWAY for a ping flood"
    assert_still_serving(server, stubs, server_alive)


def test_settings_flood(server, stubs, server_alive):
    """SETTINGS frames back to back, never acknowledging the server's."""
    settings = (frame(SETTINGS, 0, 0, struct.pack(">HI", 0x3, 100)) for _ in range(100_000))
    assert flood(server, settings), "no GOAWAY for a SETTINGS flood"
    assert_still_serving(server, stubs, server_alive)


def test_continuation_flood(server, stubs, server_alive):
    """A header block that never ends: CONTINUATION frames without END_HEADERS."""
    garbage = b"x" * 16_000

    def frames():
        yield frame(HEADERS, 0, 1, request_headers(server))
        for _ in range(5_000):
            yield frame(CONTINUATION, 0, 1, garbage)

    assert flood(server, frames()), "the server kept reading an endless header block"
    assert_still_serving(server, stubs, server_alive)


def test_too_many_streams(server, stubs, server_alive):
    """More streams than MAX_CONCURRENT_STREAMS, none ever finished."""
    block = request_headers(server)
    streams = (frame(HEADERS, END_HEADERS, stream, block) for stream in range(1, 2_001, 2))
    assert flood(server, streams, seconds=5), "the server took more streams than it advertised"
    assert_still_serving(server, stubs, server_alive)


def test_stalled_result_reader_keeps_memory_flat(server, stubs, server_alive, server_pid):
    """A client that never opens its flow-control window past the first 64 KiB, downloading about
    90 MB of query results: the server waits for it instead of buffering the results."""
    pb2, pb2_grpc = stubs
    metadata = auth("acme")
    query = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
        "SELECT x, printf('%.300c', 'x') AS filler FROM c"
    )
    with grpc.insecure_channel(server) as channel:
        stub = pb2_grpc.BulkServiceStub(channel)
        job = stub.CreateJob(pb2.CreateJobRequest(operation=pb2.OPERATION_QUERY, object="customers", query=query), metadata=metadata)
        stub.UpdateJobState(pb2.UpdateJobStateRequest(job_id=job.job_id, state=pb2.JOB_STATE_UPLOAD_COMPLETE), metadata=metadata)
        for job in stub.WatchJob(pb2.WatchJobRequest(job_id=job.job_id), metadata=metadata):
            pass
    assert job.state == pb2.JOB_STATE_JOB_COMPLETE, job.error_message
    before = resident_bytes(server_pid)

    request = pb2.GetJobResultsRequest(job_id=job.job_id).SerializeToString()
    message = b"\x00" + struct.pack(">I", len(request)) + request
    headers = request_headers(server, "GetJobResults", [("authorization", f"Bearer {TOKENS['acme']}")])
    host, port = server.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            PREFACE
            + frame(SETTINGS, 0, 0)
            + frame(HEADERS, END_HEADERS, 1, headers)
            + frame(0x0, END_STREAM, 1, message)
        )
        received = 0
        sock.settimeout(0.5)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                data = sock.recv(1 << 20)
            except socket.timeout:
                continue
            assert data, "the server closed the stalled download"
            received += len(data)
        during = resident_bytes(server_pid)
    assert received < 1 << 20, f"the server sent {received} bytes past a 64 KiB window"
    assert during - before < 40 << 20, f"resident memory grew by {(during - before) >> 20} MiB"
    assert_still_serving(server, stubs, server_alive)


def resident_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")
