import BulkCore
import BulkEngine
import BulkHTTP
import BulkSQLite
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// The REST surface over the real stack (SQLite catalog, file staging, the engine on a SQLite
/// warehouse) in a temporary folder, driven through HummingbirdTesting without sockets.
///
/// Two tenants: `acme` (token `acme-token`) and `other` (token `other-token`).
struct RESTHarness: Sendable {
  let surface: HTTPSurface
  let jobs: JobService
  let clock: TestClock
  let warehouse: SQLiteWarehouse

  static let acme = Tenant(id: "acme")
  static let other = Tenant(id: "other")

  /// Runs `body` with a fresh stack and a client of its router.
  static func run(
    limits: Limits = Limits(),
    resultBufferSize: Int = 8 << 20,
    _ body: @Sendable (RESTHarness, any TestClientProtocol) async throws -> Void
  ) async throws {
    try await self.withStack(limits: limits, resultBufferSize: resultBufferSize) { harness in
      try await harness.surface.application().test(.router) { client in
        try await body(harness, client)
      }
    }
  }

  /// Runs `body` with a fresh stack, for tests that start the surface themselves.
  static func withStack(
    limits: Limits = Limits(),
    resultBufferSize: Int = 8 << 20,
    directory: TenantDirectory? = nil,
    onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in },
    _ body: (RESTHarness) async throws -> Void
  ) async throws {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("spectra-http-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let directory =
      directory
      ?? TenantDirectory([
        (Self.acme, [TenantDirectory.digest(of: "acme-token")]),
        (Self.other, [TenantDirectory.digest(of: "other-token")]),
      ])
    let catalog = try SQLiteJobCatalog(path: "\(folder)/catalog.sqlite")
    let staging = SpooledStagingStore(
      storage: try FileJobStorage(stagingDirectory: "\(folder)/staging", resultsDirectory: "\(folder)/results"),
      limits: limits
    )
    let events = InProcessJobEvents()
    let warehouse = try SQLiteWarehouse(directory: "\(folder)/warehouse")
    let engine = JobEngine(
      catalog: catalog,
      warehouse: warehouse,
      staging: staging,
      events: events,
      limits: limits,
      settings: EngineSettings(workers: 2),
      logger: logger,
      tenant: { Tenant(id: $0) }
    )
    let jobs = JobService(
      catalog: catalog,
      staging: staging,
      processor: engine,
      events: events,
      limits: limits,
      logger: logger
    )
    let clock = TestClock()
    let surface = HTTPSurface(
      jobs: jobs,
      directory: directory,
      signingKey: Array("test signing key".utf8),
      host: "127.0.0.1",
      port: 0,
      resultBufferSize: resultBufferSize,
      logger: logger,
      onListening: onListening,
      now: { clock.now }
    )
    try await body(RESTHarness(surface: surface, jobs: jobs, clock: clock, warehouse: warehouse))
  }

  /// Runs SQL in a tenant's warehouse file.
  func sql(_ text: String, tenant: Tenant = Self.acme) throws {
    try SQLiteConnection(path: self.warehouse.path(of: tenant)).execute(text)
  }

  /// Waits until the job is terminal and returns it.
  func finished(_ id: String, tenant: Tenant = Self.acme) async throws -> Job {
    let last = try await self.jobs.watch(id: id, tenant: tenant).run { changes in
      var last: Job?
      for await job in changes {
        last = job
      }
      return last
    }
    return try #require(last)
  }
}

/// A clock the tests move by hand, for upload URL expiry.
final class TestClock: Sendable {
  private let date = Mutex(Date())

  var now: Date { self.date.withLock { $0 } }

  func advance(by seconds: TimeInterval) {
    self.date.withLock { $0 = $0.addingTimeInterval(seconds) }
  }
}

/// Header names the tests send and read.
enum Header {
  static let tenantID = HTTPFields.Element.Name("X-Tenant-ID")!
  static let locator = HTTPFields.Element.Name("Bulk-Locator")!
  static let recordCount = HTTPFields.Element.Name("Bulk-Record-Count")!
  static let trailer = HTTPFields.Element.Name("Trailer")!
}

extension TestClientProtocol {
  /// A request as a curl user sends it: bearer token (`acme-token` unless told), optional
  /// `X-Tenant-ID`, and a JSON or raw body.
  func call(
    _ method: HTTPRequest.Method,
    _ uri: String,
    token: String? = "acme-token",
    tenant: String? = nil,
    json: String? = nil,
    body: Data? = nil,
    headers: HTTPFields = [:]
  ) async throws -> TestResponse {
    var fields = headers
    if let token {
      fields[.authorization] = "Bearer \(token)"
    }
    if let tenant {
      fields[Header.tenantID] = tenant
    }
    var buffer: ByteBuffer?
    if let json {
      fields[.contentType] = "application/json"
      buffer = ByteBuffer(string: json)
    } else if let body {
      buffer = ByteBuffer(bytes: body)
    }
    return try await self.execute(uri: uri, method: method, headers: fields, body: buffer)
  }

  /// Creates an insert job (or the job `json` describes) and returns its id.
  func createJob(_ json: String = #"{"operation":"insert","object":"customers"}"#) async throws -> String {
    let response = try await self.call(.post, "/v1/bulk/jobs", json: json)
    #expect(response.status == .created, "\(response.text)")
    return try #require(response.object["job_id"] as? String)
  }

  /// The path and query of the job's upload URL.
  func uploadPath(_ id: String) async throws -> String {
    let response = try await self.call(.get, "/v1/bulk/jobs/\(id)/upload-url")
    #expect(response.status == .ok, "\(response.text)")
    let text = try #require(response.object["upload_url"] as? String)
    let url = try #require(URLComponents(string: text))
    return url.percentEncodedPath + "?" + (url.percentEncodedQuery ?? "")
  }

  /// PUTs `data` to the job's upload URL as CSV.
  func upload(
    _ data: String,
    to path: String,
    contentType: String = "text/csv",
    headers: HTTPFields = [:]
  ) async throws -> TestResponse {
    var fields = headers
    fields[.contentType] = contentType
    return try await self.call(.put, path, token: nil, body: Data(data.utf8), headers: fields)
  }

  /// Closes the job.
  func close(_ id: String) async throws {
    let response = try await self.call(.patch, "/v1/bulk/jobs/\(id)", json: #"{"state":"UploadComplete"}"#)
    #expect(response.status == .ok, "\(response.text)")
  }
}

extension TestResponse {
  var data: Data { Data(self.body.readableBytesView) }

  var text: String { String(decoding: self.data, as: UTF8.self) }

  /// The body as a JSON object (empty when it is not one).
  var object: [String: Any] {
    (try? JSONSerialization.jsonObject(with: self.data)) as? [String: Any] ?? [:]
  }

  /// The `error.code` and `error.message` of an error body.
  var error: (code: String, message: String) {
    let error = self.object["error"] as? [String: Any] ?? [:]
    return (error["code"] as? String ?? "", error["message"] as? String ?? "")
  }
}

/// Decompresses gzip data with the system's `gzip`, an implementation independent of ours.
func gunzip(_ data: Data) throws -> Data {
  let file = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-\(UUID().uuidString).gz")
  try data.write(to: file)
  defer { try? FileManager.default.removeItem(at: file) }
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["gzip", "-dc", file.path]
  let output = Pipe()
  process.standardOutput = output
  try process.run()
  let result = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  #expect(process.terminationStatus == 0, "gzip -dc failed")
  return result
}
