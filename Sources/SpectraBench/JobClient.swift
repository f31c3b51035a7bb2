internal import ArgumentParser
internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import GRPCNIOTransportHTTP2

/// Runs whole jobs against a server over loopback gRPC, as a client of the public API would:
/// create, upload in 1 MiB messages, close, watch until terminal, download.
struct JobClient: Sendable {
  private let client: Spectra_Bulk_V1_BulkService.Client<HTTP2ClientTransport.Posix>
  private let metadata: Metadata

  /// Calls `body` with a client of the server on `port` of 127.0.0.1, authenticated with `token`,
  /// over a connection sized for bulk streams (4 MiB window, 256 KiB frames).
  static func withClient<Result: Sendable>(
    port: Int,
    token: String,
    _ body: @Sendable (JobClient) async throws -> Result
  ) async throws -> Result {
    let transport = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: port),
      transportSecurity: .plaintext,
      config: .defaults { config in
        config.http2.targetWindowSize = 4 << 20
        config.http2.maxFrameSize = 256 << 10
      }
    )
    return try await withGRPCClient(transport: transport) { grpc in
      try await body(
        JobClient(
          client: Spectra_Bulk_V1_BulkService.Client(wrapping: grpc),
          metadata: ["authorization": "Bearer \(token)"]
        )
      )
    }
  }

  /// Creates an `Open` job.
  func create(
    _ operation: Spectra_Bulk_V1_Operation,
    object: String,
    externalIDField: String = "",
    query: String = ""
  ) async throws -> Spectra_Bulk_V1_Job {
    var request = Spectra_Bulk_V1_CreateJobRequest()
    request.operation = operation
    request.object = object
    request.externalIDField = externalIDField
    request.query = query
    return try await self.client.createJob(request, metadata: self.metadata)
  }

  /// Uploads `data` in 1 MiB messages in one call.
  ///
  /// - Throws: when the server reports another stored size than `data.count`.
  func upload(_ data: Data, jobID: String) async throws {
    let response = try await self.client.uploadJobData(metadata: self.metadata) { writer in
      var offset = 0
      while offset < data.count {
        let end = min(offset + (1 << 20), data.count)
        var message = Spectra_Bulk_V1_UploadJobDataRequest()
        message.jobID = jobID
        message.offset = Int64(offset)
        message.data = data.subdata(in: offset ..< end)
        try await writer.write(message)
        offset = end
      }
    }
    guard response.bytesUploaded == Int64(data.count) else {
      throw ValidationError("the server stored \(response.bytesUploaded) of \(data.count) bytes")
    }
  }

  /// Closes the job (`UploadComplete`) and watches it until it is terminal: its last state.
  func closeAndWait(jobID: String) async throws -> Spectra_Bulk_V1_Job {
    var close = Spectra_Bulk_V1_UpdateJobStateRequest()
    close.jobID = jobID
    close.state = .uploadComplete
    _ = try await self.client.updateJobState(close, metadata: self.metadata)
    var watch = Spectra_Bulk_V1_WatchJobRequest()
    watch.jobID = jobID
    let last = try await self.client.watchJob(watch, metadata: self.metadata) { response in
      var last: Spectra_Bulk_V1_Job?
      for try await job in response.messages {
        last = job
      }
      return last
    }
    guard let last else { throw ValidationError("WatchJob of \(jobID) ended without a job") }
    return last
  }

  /// Streams one result set of a terminal job into `file` (created or truncated), following
  /// locators to the end: the bytes written.
  func download(_ set: Spectra_Bulk_V1_ResultSet, jobID: String, to file: URL) async throws -> Int {
    _ = FileManager.default.createFile(atPath: file.path, contents: nil)
    let handle = try FileHandle(forWritingTo: file)
    defer { try? handle.close() }
    var request = Spectra_Bulk_V1_GetJobResultsRequest()
    request.jobID = jobID
    request.resultSet = set
    var bytes = 0
    repeat {
      let (written, next) = try await self.client.getJobResults(request, metadata: self.metadata) { response in
        var written = 0
        var next = ""
        for try await chunk in response.messages {
          try handle.write(contentsOf: chunk.data)
          written += chunk.data.count
          next = chunk.nextLocator
        }
        return (written, next)
      }
      bytes += written
      request.locator = next
    } while !request.locator.isEmpty
    return bytes
  }
}
