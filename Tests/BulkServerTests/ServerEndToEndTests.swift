import BulkCore
import BulkProto
import BulkServer
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SwiftProtobuf
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real server on a free loopback port, called with the generated Swift client.
@Suite("spectra-bulk serve, end to end")
struct ServerEndToEndTests {
  typealias Client = Spectra_Bulk_V1_BulkService.Client<HTTP2ClientTransport.Posix>

  static let token = "e2e-token"
  static let auth: Metadata = ["authorization": "Bearer \(Self.token)"]

  static func withDataDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-e2e-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
  }

  static func withClient<T: Sendable>(port: Int, _ body: (Client) async throws -> T) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: port),
      transportSecurity: .plaintext
    )
    return try await withGRPCClient(transport: transport) { client in
      try await body(Client(wrapping: client))
    }
  }

  static func create(_ object: String) -> Spectra_Bulk_V1_CreateJobRequest {
    var request = Spectra_Bulk_V1_CreateJobRequest()
    request.operation = .insert
    request.object = object
    return request
  }

  /// Closes job `jobID` (`UploadComplete`; closing again is idempotent) and watches it until
  /// `stop` holds for an update or the stream ends at a terminal state: the last update.
  static func closeAndWatch(
    _ jobID: String,
    client: Client,
    options: CallOptions = .defaults,
    metadata: Metadata = Self.auth,
    until stop: @escaping @Sendable (Spectra_Bulk_V1_Job) -> Bool = { _ in false }
  ) async throws -> Spectra_Bulk_V1_Job {
    var close = Spectra_Bulk_V1_UpdateJobStateRequest()
    close.jobID = jobID
    close.state = .uploadComplete
    _ = try await client.updateJobState(close, metadata: metadata, options: options)
    var watch = Spectra_Bulk_V1_WatchJobRequest()
    watch.jobID = jobID
    return try await client.watchJob(watch, metadata: metadata, options: options) { response in
      var last = Spectra_Bulk_V1_Job()
      for try await update in response.messages {
        last = update
        if stop(update) { break }
      }
      return last
    }
  }

  /// A server in this process on free loopback ports, with the development tenant's token.
  static func inProcessServer(
    directory: String,
    demo: Bool = false,
    announce: @escaping @Sendable (String) -> Void = { _ in }
  ) throws -> BulkServer {
    var configuration = ServerConfiguration()
    configuration.dataDirectory = directory
    configuration.grpcPort = 0
    configuration.httpPort = 0
    configuration.developmentToken = Self.token
    configuration.demo = demo
    return try BulkServer(
      configuration: configuration,
      logger: Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() }),
      announce: announce
    )
  }

  @Test("the in-process server serves the lifecycle over a loopback socket")
  func inProcess() async throws {
    try await Self.withDataDirectory { directory in
      let lines = LineCollector()
      let server = try Self.inProcessServer(directory: directory, announce: lines.append)
      let port = try await withThrowingTaskGroup { group in
        group.addTask { try await server.run() }
        let port = try await server.grpcPort()
        try await Self.withClient(port: port) { client in
          let job = try await client.createJob(Self.create("customers"), metadata: Self.auth)
          #expect(job.tenantID == TenantDirectory.developmentTenantID)
          var abort = Spectra_Bulk_V1_UpdateJobStateRequest()
          abort.jobID = job.jobID
          abort.state = .aborted
          #expect(try await client.updateJobState(abort, metadata: Self.auth).state == .aborted)
          let listed = try await client.listJobs(Spectra_Bulk_V1_ListJobsRequest(), metadata: Self.auth)
          #expect(listed.jobs.map(\.jobID) == [job.jobID])
          var delete = Spectra_Bulk_V1_DeleteJobRequest()
          delete.jobID = job.jobID
          _ = try await client.deleteJob(delete, metadata: Self.auth)

          let upload = Spectra_Bulk_V1_UploadJobDataRequest.with { $0.jobID = job.jobID }
          do {
            _ = try await client.uploadJobData(metadata: Self.auth) { writer in try await writer.write(upload) }
            Issue.record("an upload to a deleted job was accepted")
          } catch let error as RPCError {
            #expect(error.code == .notFound)
          }
          do {
            _ = try await client.getJob(Spectra_Bulk_V1_GetJobRequest(), metadata: ["authorization": "Bearer wrong"])
            Issue.record("a wrong token was accepted")
          } catch let error as RPCError {
            #expect(error.code == .unauthenticated)
          }
        }
        group.cancelAll()
        return port
      }
      #expect(lines.all.contains("grpc listening on 127.0.0.1:\(port)"))
    }
  }

  @Test("the binary prints its port, stops cleanly on SIGTERM and SIGINT, and keeps jobs across restarts")
  func restart() async throws {
    try await Self.withDataDirectory { directory in
      let arguments = ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory, "--demo"]
      let environment = ["SPECTRA_DEV_TOKEN": Self.token]

      let first = try ServerProcess(arguments: arguments, environment: environment)
      let job = try await Self.withClient(port: try first.awaitGRPCPort()) { client in
        try await client.createJob(Self.create("sales"), metadata: Self.auth)
      }
      #expect(first.stop(with: SIGTERM) == 0)

      let second = try ServerProcess(arguments: arguments, environment: environment)
      try await Self.withClient(port: try second.awaitGRPCPort()) { client in
        var get = Spectra_Bulk_V1_GetJobRequest()
        get.jobID = job.jobID
        let reloaded = try await client.getJob(get, metadata: Self.auth)
        #expect(reloaded == job)
      }
      #expect(second.stop(with: SIGINT) == 0)
      #expect(FileManager.default.fileExists(atPath: "\(directory)/warehouse/tenant-123.sqlite"))
    }
  }

  @Test("without a tenants file the development token is generated and printed once")
  func generatedToken() async throws {
    try await Self.withDataDirectory { directory in
      let server = try ServerProcess(arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory])
      let token = try server.awaitLine(startingWith: "development tenant tenant-123, token: ")
      #expect(token.count == 64)
      let port = try server.awaitGRPCPort()
      let http = try server.awaitLine(startingWith: "http listening on 127.0.0.1:")
      #expect(Int(http) ?? 0 > 0)
      try await Self.withClient(port: port) { client in
        let job = try await client.createJob(Self.create("customers"), metadata: ["authorization": "Bearer \(token)"])
        #expect(job.tenantID == "tenant-123")
      }
      #expect(server.stop() == 0)
    }
  }

  @Test("a non-loopback host without a tenants file is refused")
  func publicHostNeedsTenants() async throws {
    try await Self.withDataDirectory { directory in
      let server = try ServerProcess(arguments: [
        "--host", "0.0.0.0", "--grpc-port", "0", "--http-port", "0", "--data-dir", directory,
      ])
      #expect(server.waitForExit() != 0)
    }
  }

  @Test("a job through the binary: processed on the demo table, counted in /metrics")
  func jobAndMetrics() async throws {
    try await Self.withDataDirectory { directory in
      let server = try ServerProcess(
        arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory, "--demo"],
        environment: ["SPECTRA_DEV_TOKEN": Self.token]
      )
      let port = try server.awaitGRPCPort()
      let http = try #require(Int(try server.awaitLine(startingWith: "http listening on 127.0.0.1:")))
      let job = try await Self.withClient(port: port) { client in
        let job = try await client.createJob(Self.create("customers"), metadata: Self.auth)
        _ = try await client.uploadJobData(metadata: Self.auth) { writer in
          var message = Spectra_Bulk_V1_UploadJobDataRequest()
          message.jobID = job.jobID
          message.data = Data("id,name,email\n500,Kay,kay@example.com\n501,,x@example.com\n".utf8)
          try await writer.write(message)
        }
        return try await Self.closeAndWatch(job.jobID, client: client)
      }
      #expect(job.state == .jobComplete)
      #expect(job.numberRecordsProcessed == 2)
      #expect(job.numberRecordsFailed == 1)
      let (body, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(http)/metrics")!)
      let metrics = String(decoding: body, as: UTF8.self)
      #expect(metrics.contains("spectra_records_processed_total{operation=\"insert\"} 2"))
      #expect(metrics.contains("spectra_records_failed_total{operation=\"insert\"} 1"))
      #expect(metrics.contains("spectra_upload_bytes_total"))
      #expect(metrics.contains("spectra_grpc_requests_total"))
      #expect(metrics.contains("spectra_chunk_duration_seconds"))
      #expect(server.stop() == 0)
    }
  }
}

/// Collects announced lines from the server under test.
final class LineCollector: Sendable {
  private let lines = Mutex<[String]>([])

  var all: [String] { self.lines.withLock { $0 } }

  func append(_ line: String) {
    self.lines.withLock { $0.append(line) }
  }
}
