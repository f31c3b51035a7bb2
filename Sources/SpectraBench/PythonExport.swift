internal import Foundation

/// The export job driven by an outside client: Python's `grpcio` with the stubs generated from
/// `Protos/` (the `spectra.bulk.v1` package that `pip install ./clients/python` installs), in a
/// `python3` child process. It creates the query job of the whole table (no query), follows
/// `WatchJob` to its end and reads the results page by page as a user of the stubs would:
/// `max_records` at the Python package's default page size, each page's header line dropped after
/// the first, every byte written to a file.
enum PythonExport {
  /// The records per `GetJobResults` call: `spectra_bulk`'s default `page_records`.
  static let pageRecords = 50_000

  /// The child's program: argv is the server's address, the token, the table, the output file and
  /// the page size; it prints the seconds from create to the last byte written, the seconds from
  /// create to `JobComplete`, and the records the pages counted.
  static let script = """
    import sys, time
    import grpc
    from spectra.bulk.v1 import bulk_pb2 as pb, bulk_pb2_grpc as rpc
    address, token, table, path, page = sys.argv[1:6]
    metadata = [("authorization", "Bearer " + token)]
    stub = rpc.BulkServiceStub(grpc.insecure_channel(address))
    terminal = {pb.JOB_STATE_JOB_COMPLETE, pb.JOB_STATE_FAILED, pb.JOB_STATE_ABORTED}
    start = time.perf_counter()
    job = stub.CreateJob(pb.CreateJobRequest(operation=pb.OPERATION_QUERY, object=table), metadata=metadata)
    stub.UpdateJobState(pb.UpdateJobStateRequest(job_id=job.job_id, state=pb.JOB_STATE_UPLOAD_COMPLETE),
        metadata=metadata)
    for job in stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), metadata=metadata):
        if job.state in terminal:
            break
    if job.state != pb.JOB_STATE_JOB_COMPLETE:
        sys.exit("the query job ended in state %d: %s" % (job.state, job.error_message))
    complete = time.perf_counter()
    records, locator, first = 0, "", True
    with open(path, "wb") as out:
        while True:
            request = pb.GetJobResultsRequest(job_id=job.job_id, result_set=pb.RESULT_SET_QUERY,
                locator=locator, max_records=int(page))
            header = not first
            for chunk in stub.GetJobResults(request, metadata=metadata):
                data = chunk.data
                if header:
                    data = data[data.index(b"\\n") + 1:]
                    header = False
                out.write(data)
                records += chunk.record_count
                locator = chunk.next_locator
            first = False
            if not locator:
                break
    print(time.perf_counter() - start, complete - start, records)
    """

  /// Runs the child against the server on `port` and returns the seconds it measured (in all, and
  /// until the job was complete, before the download) and the records it counted.
  ///
  /// - Throws: `CaseUnavailable` when `python3`, `grpcio` or the stubs are missing.
  static func run(
    port: Int,
    token: String,
    table: String,
    file: URL
  ) async throws -> (seconds: Double, completeSeconds: Double, records: Int) {
    let (fields, output) = try await PythonClient.run(
      Self.script,
      arguments: ["127.0.0.1:\(port)", token, table, file.path, String(Self.pageRecords)]
    )
    guard fields.count == 3, let seconds = Double(fields[0]), let complete = Double(fields[1]),
      let records = Int(fields[2])
    else {
      throw CaseUnavailable(reason: "the grpcio export printed \"\(output)\", not its seconds and records")
    }
    return (seconds, complete, records)
  }
}
