internal import Foundation

/// The upload stream driven by an outside client: Python's `grpcio` with the stubs generated from
/// `Protos/` (`pip install ./clients/python`), in a `python3` child process, so that the figure is
/// not only our Swift client's. It creates an insert job and sends the file in one
/// `UploadJobData` stream of 1 MiB messages, as the Swift client does; the server answers once
/// every byte is stored and fsynced.
enum PythonUpload {
  /// The child's program: argv is the server's address, the token, the file and the message
  /// size; it prints the seconds from the stream's first message to the server's answer and the
  /// bytes the answer says are stored.
  static let script = """
    import sys, time
    import grpc
    from spectra.bulk.v1 import bulk_pb2 as pb, bulk_pb2_grpc as rpc
    address, token, path, size = sys.argv[1:5]
    metadata = [("authorization", "Bearer " + token)]
    stub = rpc.BulkServiceStub(grpc.insecure_channel(address))
    job = stub.CreateJob(pb.CreateJobRequest(operation=pb.OPERATION_INSERT, object="customers"), metadata=metadata)
    def messages():
        offset = 0
        with open(path, "rb") as source:
            while True:
                data = source.read(int(size))
                if not data:
                    return
                yield pb.UploadJobDataRequest(job_id=job.job_id, offset=offset, data=data)
                offset += len(data)
    start = time.perf_counter()
    answer = stub.UploadJobData(messages(), metadata=metadata)
    print(time.perf_counter() - start, answer.bytes_uploaded)
    """

  /// Uploads `file` through the child against the server on `port`: the seconds it measured and
  /// the bytes the server stored.
  ///
  /// - Throws: `CaseUnavailable` when `python3`, `grpcio` or the stubs are missing.
  static func run(port: Int, token: String, file: URL) async throws -> (seconds: Double, bytes: Int64) {
    let (fields, output) = try await PythonClient.run(
      Self.script,
      arguments: ["127.0.0.1:\(port)", token, file.path, String(1 << 20)]
    )
    guard fields.count == 2, let seconds = Double(fields[0]), let bytes = Int64(fields[1]) else {
      throw CaseUnavailable(reason: "the grpcio upload printed \"\(output)\", not its seconds and bytes")
    }
    return (seconds, bytes)
  }
}
