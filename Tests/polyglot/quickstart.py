"""Load a CSV file into the table `customers` over gRPC and print the records that failed.

Usage: python3 quickstart.py FILE.csv  (SPECTRA_SERVER and SPECTRA_TOKEN say where and who)
"""
import os
import sys

import grpc
from spectra.bulk.v1 import bulk_pb2 as pb, bulk_pb2_grpc as rpc

auth = [("authorization", "Bearer " + os.environ.get("SPECTRA_TOKEN", "dev-token"))]
bulk = rpc.BulkServiceStub(grpc.insecure_channel(os.environ.get("SPECTRA_SERVER", "127.0.0.1:50051")))

job = bulk.CreateJob(pb.CreateJobRequest(operation=pb.OPERATION_INSERT, object="customers"), metadata=auth)


def pieces(path, size=1 << 20):
    """The file in 1 MiB messages, each with its offset in the upload."""
    with open(path, "rb") as f:
        offset = 0
        while data := f.read(size):
            yield pb.UploadJobDataRequest(job_id=job.job_id, offset=offset, data=data)
            offset += len(data)


bulk.UploadJobData(pieces(sys.argv[1]), metadata=auth)
bulk.UpdateJobState(pb.UpdateJobStateRequest(job_id=job.job_id, state=pb.JOB_STATE_UPLOAD_COMPLETE),
                    metadata=auth)
for update in bulk.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=auth):
    print(job.job_id, pb.JobState.Name(update.state), update.number_records_processed,
          update.number_records_failed)
failed = bulk.GetJobResults(pb.GetJobResultsRequest(job_id=job.job_id, result_set=pb.RESULT_SET_FAILED),
                            metadata=auth)
sys.stdout.write(b"".join(chunk.data for chunk in failed).decode())
