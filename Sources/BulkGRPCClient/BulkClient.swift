package import BulkProto
internal import Foundation
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
internal import SwiftProtobuf

/// The generated `BulkService` client with the caller's credentials on every call.
///
/// Calls throw the server's `RPCError` unchanged, so that callers can tell a dropped connection
/// (retried) from a refusal (reported); commands turn them into ``ClientError`` at their edge.
package struct BulkClient: Sendable {
  /// The generated client over HTTP/2.
  typealias Stub = Spectra_Bulk_V1_BulkService.Client<HTTP2ClientTransport.Posix>

  /// The generated client.
  let stub: Stub
  /// `grpc.health.v1.Health` on the same connection.
  let health: Grpc_Health_V1_Health.Client<HTTP2ClientTransport.Posix>
  /// `authorization` and, when given, `x-tenant-id`.
  let metadata: Metadata

  /// Call options for every call: fail at once while the connection is down, rather than wait
  /// for it, so that the commands' own retries (with their messages) decide.
  static var options: CallOptions {
    var options = CallOptions.defaults
    options.waitForReady = false
    return options
  }

  /// Connects to `host`:`port` and runs `body` with a client that sends `token` (and `tenant`).
  ///
  /// With `gzip`, the connection may compress messages: uploads ask for it per call, and the
  /// server compresses what it sends back. Without it, everything goes as it is.
  package static func connect<T: Sendable>(
    host: String,
    port: Int,
    token: String,
    tenant: String?,
    security: ClientSecurity = .plaintext,
    gzip: Bool = true,
    _ body: (BulkClient) async throws -> T
  ) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(
      target: Self.target(host: host, port: port),
      transportSecurity: security.transportSecurity,
      config: .defaults { config in
        // Bulk streams want a large window: the transport's 64 KiB default caps an upload at
        // about a fifth of what the server takes (see the README's Performance section).
        config.http2.targetWindowSize = 4 << 20
        config.http2.maxFrameSize = 256 << 10
        if gzip { config.compression.enabledAlgorithms = [.gzip] }
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
      }
    )
    var metadata: Metadata = ["authorization": "Bearer \(token)"]
    if let tenant { metadata.addString(tenant, forKey: "x-tenant-id") }
    return try await withGRPCClient(transport: transport) { grpc in
      try await body(
        BulkClient(stub: Stub(wrapping: grpc), health: Grpc_Health_V1_Health.Client(wrapping: grpc), metadata: metadata)
      )
    }
  }

  /// An address literal as itself, so that TLS checks it against the certificate's IP names
  /// (and sends no IP address as a server name); any other host through DNS.
  private static func target(host: String, port: Int) -> any ResolvableTarget {
    var address4 = in_addr()
    var address6 = in6_addr()
    if inet_pton(AF_INET, host, &address4) == 1 { return .ipv4(address: host, port: port) }
    if inet_pton(AF_INET6, host, &address6) == 1 { return .ipv6(address: host, port: port) }
    return .dns(host: host, port: port)
  }

  /// `CreateJob`.
  package func create(_ request: Spectra_Bulk_V1_CreateJobRequest) async throws -> Spectra_Bulk_V1_Job {
    try await self.stub.createJob(request, metadata: self.metadata, options: Self.options)
  }

  /// `grpc.health.v1.Health/Check` of the whole server (no credentials: the service is open to
  /// probes): whether it serves.
  package func serving() async throws -> Bool {
    try await self.health.check(Grpc_Health_V1_HealthCheckRequest(), options: Self.options).status == .serving
  }

  /// `GetJob`.
  package func job(_ id: String) async throws -> Spectra_Bulk_V1_Job {
    try await self.stub.getJob(.with { $0.jobID = id }, metadata: self.metadata, options: Self.options)
  }

  /// One page of `ListJobs`.
  package func list(_ request: Spectra_Bulk_V1_ListJobsRequest) async throws -> Spectra_Bulk_V1_ListJobsResponse {
    try await self.stub.listJobs(request, metadata: self.metadata, options: Self.options)
  }

  /// `UpdateJobState` to `state` (close or abort).
  package func update(_ id: String, to state: Spectra_Bulk_V1_JobState) async throws -> Spectra_Bulk_V1_Job {
    let request = Spectra_Bulk_V1_UpdateJobStateRequest.with {
      $0.jobID = id
      $0.state = state
    }
    return try await self.stub.updateJobState(request, metadata: self.metadata, options: Self.options)
  }

  /// `DeleteJob`.
  package func delete(_ id: String) async throws {
    _ = try await self.stub.deleteJob(.with { $0.jobID = id }, metadata: self.metadata, options: Self.options)
  }

  /// One `UploadJobData` call that sends the bytes of `file` from `offset` to its end in
  /// messages of `messageSize` bytes, gzip-compressed on the wire when `compressed`;
  /// `onSent` hears the file position after each message.
  func upload(
    jobID: String,
    file: String,
    from offset: Int64,
    messageSize: Int = 1 << 20,
    compressed: Bool,
    onSent: @escaping @Sendable (Int64) -> Void
  ) async throws -> Spectra_Bulk_V1_UploadJobDataResponse {
    var options = Self.options
    if compressed { options.compression = .gzip }
    return try await self.stub.uploadJobData(metadata: self.metadata, options: options) { writer in
      guard let handle = FileHandle(forReadingAtPath: file) else {
        throw ClientError("cannot read \(file)")
      }
      defer { try? handle.close() }
      try handle.seek(toOffset: UInt64(offset))
      var position = offset
      while let data = try handle.read(upToCount: messageSize), !data.isEmpty {
        var message = Spectra_Bulk_V1_UploadJobDataRequest()
        message.jobID = jobID
        message.offset = position
        message.data = data
        try await writer.write(message)
        position += Int64(data.count)
        onSent(position)
      }
    }
  }

  /// Follows `WatchJob` to its end; `onUpdate` hears every update. Returns the last job sent.
  func watch(
    _ id: String,
    onUpdate: @escaping @Sendable (Spectra_Bulk_V1_Job) -> Void
  ) async throws -> Spectra_Bulk_V1_Job? {
    try await self.stub.watchJob(.with { $0.jobID = id }, metadata: self.metadata, options: Self.options) { response in
      var last: Spectra_Bulk_V1_Job?
      for try await job in response.messages {
        onUpdate(job)
        last = job
      }
      return last
    }
  }

  /// One `GetJobResults` call, its response stream handed to `handle`.
  func results<T: Sendable>(
    _ request: Spectra_Bulk_V1_GetJobResultsRequest,
    handle: @escaping @Sendable (StreamingClientResponse<Spectra_Bulk_V1_ResultChunk>) async throws -> T
  ) async throws -> T {
    try await self.stub.getJobResults(request, metadata: self.metadata, options: Self.options, onResponse: handle)
  }
}
