internal import BulkProto
internal import GRPCCore
internal import GRPCNIOTransportHTTP2

/// A gRPC server in the test process that relays every `BulkService` call to the real server
/// with a fixed token, and, left with the transport's default configuration, refuses
/// compressed messages: a server that does not take gzip.
struct UncompressedRelay: Spectra_Bulk_V1_BulkService.SimpleServiceProtocol {
  let upstream: Spectra_Bulk_V1_BulkService.Client<HTTP2ClientTransport.Posix>
  let metadata: Metadata

  /// Runs a relay to the server on `upstreamPort`, calling it with `token`, while `body` runs
  /// with the relay's port.
  static func run<T: Sendable>(upstreamPort: Int, token: String, _ body: (Int) async throws -> T) async throws -> T {
    let client = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: upstreamPort),
      transportSecurity: .plaintext
    )
    return try await withGRPCClient(transport: client) { grpc in
      let relay = UncompressedRelay(upstream: .init(wrapping: grpc), metadata: ["authorization": "Bearer \(token)"])
      let transport = HTTP2ServerTransport.Posix(
        address: .ipv4(host: "127.0.0.1", port: 0),
        transportSecurity: .plaintext
      )
      return try await withGRPCServer(transport: transport, services: [relay]) { server in
        let address = try await transport.listeningAddress
        guard let port = address.ipv4?.port else { throw RPCError(code: .internalError, message: "no IPv4 port") }
        return try await body(port)
      }
    }
  }

  func createJob(
    request: Spectra_Bulk_V1_CreateJobRequest,
    context: ServerContext
  ) async throws
    -> Spectra_Bulk_V1_Job
  {
    try await self.upstream.createJob(request, metadata: self.metadata)
  }

  func getJob(request: Spectra_Bulk_V1_GetJobRequest, context: ServerContext) async throws -> Spectra_Bulk_V1_Job {
    try await self.upstream.getJob(request, metadata: self.metadata)
  }

  func listJobs(
    request: Spectra_Bulk_V1_ListJobsRequest,
    context: ServerContext
  ) async throws
    -> Spectra_Bulk_V1_ListJobsResponse
  {
    try await self.upstream.listJobs(request, metadata: self.metadata)
  }

  func updateJobState(
    request: Spectra_Bulk_V1_UpdateJobStateRequest,
    context: ServerContext
  ) async throws
    -> Spectra_Bulk_V1_Job
  {
    try await self.upstream.updateJobState(request, metadata: self.metadata)
  }

  func uploadJobData(
    request: RPCAsyncSequence<Spectra_Bulk_V1_UploadJobDataRequest, any Error>,
    context: ServerContext
  ) async throws -> Spectra_Bulk_V1_UploadJobDataResponse {
    try await self.upstream.uploadJobData(metadata: self.metadata) { writer in
      for try await message in request {
        try await writer.write(message)
      }
    }
  }

  func watchJob(
    request: Spectra_Bulk_V1_WatchJobRequest,
    response: RPCWriter<Spectra_Bulk_V1_Job>,
    context: ServerContext
  ) async throws {
    try await self.upstream.watchJob(request, metadata: self.metadata) { try await Self.relay($0, to: response) }
  }

  func getJobResults(
    request: Spectra_Bulk_V1_GetJobResultsRequest,
    response: RPCWriter<Spectra_Bulk_V1_ResultChunk>,
    context: ServerContext
  ) async throws {
    try await self.upstream.getJobResults(request, metadata: self.metadata) { try await Self.relay($0, to: response) }
  }

  func deleteJob(
    request: Spectra_Bulk_V1_DeleteJobRequest,
    context: ServerContext
  ) async throws
    -> Spectra_Bulk_V1_DeleteJobResponse
  {
    try await self.upstream.deleteJob(request, metadata: self.metadata)
  }

  /// Writes every message of the upstream's response stream to the caller's.
  private static func relay<Message>(
    _ upstream: StreamingClientResponse<Message>,
    to response: RPCWriter<Message>
  ) async throws {
    for try await message in upstream.messages {
      try await response.write(message)
    }
  }
}
