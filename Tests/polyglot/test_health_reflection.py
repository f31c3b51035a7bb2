"""The standard services with the standard Python clients: grpcio-health-checking against
grpc.health.v1.Health and grpcio-reflection's descriptor database against server reflection, all
without a token and without the proto files.
"""

import queue
import threading
import time

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from conftest import expect_code, launch_server

BULK = "spectra.bulk.v1.BulkService"


def test_check_serves_the_server_and_the_bulk_service_without_a_token(server):
    with grpc.insecure_channel(server) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", BULK):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
        details = expect_code(
            grpc.StatusCode.NOT_FOUND, health.Check, health_pb2.HealthCheckRequest(service="no.Such"), timeout=10
        )
        assert "no.Such" in details


def test_reflection_lists_and_describes_without_the_protos(server):
    with grpc.insecure_channel(server) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = database.get_services()
        assert BULK in services
        assert "grpc.health.v1.Health" in services
        pool = descriptor_pool.DescriptorPool(database)
        service = pool.FindServiceByName(BULK)
        assert "WatchJob" in [method.name for method in service.methods]
        job = pool.FindMessageTypeByName("spectra.bulk.v1.Job")
        assert job.fields_by_name["job_id"].number == 1
        assert job.fields_by_name["created_at"].message_type.full_name == "google.protobuf.Timestamp"
        assert job.fields_by_name["number_chunks_completed"].number == 21


def test_watch_sees_not_serving_when_the_server_gets_sigterm():
    with launch_server() as (process, address):
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            statuses = queue.Queue()
            ended = []

            def follow():
                try:
                    for answer in health.Watch(health_pb2.HealthCheckRequest(service=BULK), timeout=60):
                        statuses.put(answer.status)
                except grpc.RpcError as error:
                    ended.append(error.code())
                statuses.put(None)

            watcher = threading.Thread(target=follow)
            watcher.start()
            assert statuses.get(timeout=20) == health_pb2.HealthCheckResponse.SERVING
            signalled = time.monotonic()
            process.terminate()
            assert statuses.get(timeout=20) == health_pb2.HealthCheckResponse.NOT_SERVING
            assert statuses.get(timeout=20) is None
            watcher.join(timeout=20)
            assert ended == [grpc.StatusCode.UNAVAILABLE]
            assert process.wait(timeout=30) == 0
            print(f"health watch saw NOT_SERVING and the server exited {time.monotonic() - signalled:.2f} s after SIGTERM")
