"""Polyglot check: a Python client generated from Protos/ with grpcio-tools drives the real server.

Run by Tests/all.sh after `swift build`; SPECTRA_BULK_BINARY may name the server binary.
"""

import os
import socket
import subprocess
import sys

import grpc
import h2.config
import h2.connection
import h2.events
import h2.settings

from conftest import ROOT, TOKENS, auth, expect_code


def test_create_get_list_abort_delete(stubs, client):
    pb2, _ = stubs
    job = client.CreateJob(
        pb2.CreateJobRequest(operation=pb2.OPERATION_INSERT, object="customers", request_id="py-1"),
        metadata=auth("acme"),
    )
    assert job.job_id.startswith("bulk-job-")
    assert job.state == pb2.JOB_STATE_OPEN
    assert job.tenant_id == "acme"
    assert job.content_type == pb2.CONTENT_TYPE_CSV

    again = client.CreateJob(
        pb2.CreateJobRequest(operation=pb2.OPERATION_INSERT, object="customers", request_id="py-1"),
        metadata=auth("acme"),
    )
    assert again.job_id == job.job_id

    got = client.GetJob(pb2.GetJobRequest(job_id=job.job_id), metadata=auth("acme"))
    assert got == job

    listed = client.ListJobs(pb2.ListJobsRequest(state=pb2.JOB_STATE_OPEN), metadata=auth("acme"))
    assert job.job_id in [j.job_id for j in listed.jobs]

    aborted = client.UpdateJobState(
        pb2.UpdateJobStateRequest(job_id=job.job_id, state=pb2.JOB_STATE_ABORTED), metadata=auth("acme")
    )
    assert aborted.state == pb2.JOB_STATE_ABORTED

    client.DeleteJob(pb2.DeleteJobRequest(job_id=job.job_id), metadata=auth("acme"))
    expect_code(grpc.StatusCode.NOT_FOUND, client.GetJob, pb2.GetJobRequest(job_id=job.job_id), metadata=auth("acme"))


def test_close_is_idempotent(stubs, client):
    pb2, _ = stubs
    job = client.CreateJob(pb2.CreateJobRequest(operation=pb2.OPERATION_DELETE, object="customers"), metadata=auth("acme"))
    close = pb2.UpdateJobStateRequest(job_id=job.job_id, state=pb2.JOB_STATE_UPLOAD_COMPLETE)
    assert client.UpdateJobState(close, metadata=auth("acme")).state == pb2.JOB_STATE_UPLOAD_COMPLETE
    # Closing again succeeds, whether processing has started or even finished.
    again = client.UpdateJobState(close, metadata=auth("acme")).state
    assert again in (pb2.JOB_STATE_UPLOAD_COMPLETE, pb2.JOB_STATE_IN_PROGRESS, pb2.JOB_STATE_JOB_COMPLETE)


def test_errors(stubs, client):
    pb2, _ = stubs
    create = pb2.CreateJobRequest(operation=pb2.OPERATION_INSERT, object="customers")
    expect_code(grpc.StatusCode.UNAUTHENTICATED, client.CreateJob, create, metadata=[("authorization", "Bearer wrong")])
    expect_code(grpc.StatusCode.UNAUTHENTICATED, client.CreateJob, create)
    expect_code(
        grpc.StatusCode.PERMISSION_DENIED,
        client.CreateJob,
        create,
        metadata=auth("acme") + [("x-tenant-id", "globex")],
    )
    details = expect_code(
        grpc.StatusCode.INVALID_ARGUMENT,
        client.CreateJob,
        pb2.CreateJobRequest(operation=pb2.OPERATION_INSERT),
        metadata=auth("acme"),
    )
    assert "object" in details

    job = client.CreateJob(create, metadata=auth("acme"))
    expect_code(grpc.StatusCode.NOT_FOUND, client.GetJob, pb2.GetJobRequest(job_id=job.job_id), metadata=auth("globex"))
    assert job.job_id not in [j.job_id for j in client.ListJobs(pb2.ListJobsRequest(), metadata=auth("globex")).jobs]
    expect_code(
        grpc.StatusCode.FAILED_PRECONDITION,
        client.UpdateJobState,
        pb2.UpdateJobStateRequest(job_id=job.job_id, state=pb2.JOB_STATE_JOB_COMPLETE),
        metadata=auth("acme"),
    )
    expect_code(
        grpc.StatusCode.FAILED_PRECONDITION,
        client.DeleteJob,
        pb2.DeleteJobRequest(job_id=job.job_id),
        metadata=auth("acme"),
    )


def test_http2_settings_are_sized_for_bulk_streams(server):
    """An independent HTTP/2 peer reads the SETTINGS the server advertises."""
    host, port = server.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        sock.sendall(connection.data_to_send())
        settings = None
        while settings is None:
            data = sock.recv(65535)
            assert data, "the server closed the connection before sending SETTINGS"
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RemoteSettingsChanged):
                    settings = {code: change.new_value for code, change in event.changed_settings.items()}
    codes = h2.settings.SettingCodes
    assert settings[codes.MAX_CONCURRENT_STREAMS] == 100
    assert settings[codes.INITIAL_WINDOW_SIZE] == 4 << 20
    assert settings[codes.MAX_FRAME_SIZE] == 256 << 10


QUICKSTART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quickstart.py")


def test_readme_python_client(stubs, server, tmp_path):
    """The README's Python client is quickstart.py, verbatim, and it loads a file into the real server."""
    with open(QUICKSTART) as f:
        code = f.read()
    with open(os.path.join(ROOT, "README.md")) as f:
        assert "```python\n" + code + "```\n" in f.read(), "README.md does not show Tests/polyglot/quickstart.py as it is"

    pb2, _ = stubs
    generated = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(pb2.__file__))))
    data = tmp_path / "data.csv"
    data.write_text("id,name\n900,Ada\n900,Ada again\n")
    run = subprocess.run(
        [sys.executable, QUICKSTART, str(data)],
        env=dict(os.environ, PYTHONPATH=generated, SPECTRA_SERVER=server, SPECTRA_TOKEN=TOKENS["acme"]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    final = [line for line in lines if " JOB_STATE_" in line][-1].split()
    assert final[1:] == ["JOB_STATE_JOB_COMPLETE", "2", "1"]
    failed = lines[lines.index("_record,_error,id,name") + 1]
    assert failed.startswith("2,DUPLICATE_KEY")
    assert failed.endswith(",900,Ada again")
