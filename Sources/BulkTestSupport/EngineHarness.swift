package import BulkCore
package import BulkEngine
package import BulkSQLite
internal import Foundation
internal import Logging
internal import Synchronization

/// A real engine over the real SQLite catalog, staging store and warehouse, in a temporary
/// folder, driven through `JobService` as the transports drive it.
package struct EngineHarness {
  package let directory: String
  package let catalog: SQLiteJobCatalog
  package let staging: SpooledStagingStore
  package let warehouse: SQLiteWarehouse
  /// The warehouse the engine loads into: `base` or `warehouse`, as `wrapping` wrapped it.
  package let engineWarehouse: any Warehouse
  package let engine: JobEngine
  package let service: JobService
  package let tenant: Tenant

  /// - Parameters:
  ///   - base: the warehouse jobs load into; the embedded SQLite one when `nil`.
  ///   - wrapping: wraps the warehouse, e.g. in a `GatedWarehouse`.
  ///   - freeBytes: the free space the storage ledger sees; the data directory's real one when `nil`.
  ///   - resultWriteCheck: runs before each result file is written, to fail some.
  ///   - catalogWrapping: wraps the catalog the engine and the service use, e.g. to refuse leases.
  ///   - storage: where uploads and results are kept; files in `directory` when `nil`.
  ///   - checkpointBytes: the staging store's checkpoint interval (`SpooledStagingStore.checkpointBytes`).
  package init(
    directory: String,
    settings: EngineSettings,
    limits: Limits = Limits(),
    tenant: Tenant = Tenant(id: "acme"),
    base: (any Warehouse)? = nil,
    warehouse wrapping: ((any Warehouse) -> any Warehouse)? = nil,
    freeBytes: (@Sendable () throws -> Int64)? = nil,
    resultWriteCheck: ResultWriteCheck = .none,
    catalogWrapping: ((any JobCatalog) -> any JobCatalog)? = nil,
    storage: (any JobStorage)? = nil,
    checkpointBytes: Int64 = SpooledStagingStore.checkpointBytes
  ) throws {
    self.directory = directory
    self.tenant = tenant
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    self.catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
    self.staging = SpooledStagingStore(
      storage: try storage
        ?? FileJobStorage(
          stagingDirectory: "\(directory)/staging",
          resultsDirectory: "\(directory)/results"
        ),
      limits: limits,
      ledger: freeBytes.map { StorageLedger(limits: limits, freeBytes: $0) },
      checkpointBytes: checkpointBytes
    )
    self.warehouse = try SQLiteWarehouse(directory: "\(directory)/warehouse")
    let catalog = catalogWrapping?(self.catalog) ?? self.catalog
    let events = InProcessJobEvents()
    self.engineWarehouse = wrapping?(base ?? self.warehouse) ?? base ?? self.warehouse
    self.engine = JobEngine(
      catalog: catalog,
      warehouse: self.engineWarehouse,
      staging: self.staging,
      events: events,
      limits: limits,
      settings: settings,
      logger: logger,
      tenant: { $0 == tenant.id ? tenant : Tenant(id: $0) },
      resultWriteCheck: resultWriteCheck
    )
    self.service = JobService(
      catalog: catalog,
      staging: self.staging,
      processor: self.engine,
      events: events,
      limits: limits,
      logger: logger
    )
  }

  /// A connection of the test's own to the tenant's warehouse file that waits, as the engine's
  /// do, while the engine's connection holds the file's lock.
  private func connection() throws -> SQLiteConnection {
    let connection = try SQLiteConnection(path: self.warehouse.path(of: self.tenant))
    try connection.execute("PRAGMA busy_timeout = 5000")
    return connection
  }

  /// Runs SQL on the tenant's warehouse file, e.g. to create tables.
  package func sql(_ text: String) throws {
    try self.connection().execute(text)
  }

  /// Rows of a query on the tenant's warehouse file, as text.
  package func rows(_ query: String) throws -> [[String]] {
    let statement = try self.connection().prepare(query)
    var rows: [[String]] = []
    while try statement.step() {
      rows.append(
        (0 ..< statement.columnCount).map { column in
          switch statement.value(column) {
          case .null: "NULL"
          case .integer(let integer): String(integer)
          case .double(let double): String(double)
          case .text(let text): text
          case .blob(let bytes): "\(bytes.count) bytes"
          }
        }
      )
    }
    return rows
  }

  /// Creates a job, uploads `payloads` in one stream, and closes it (unless `close` is false).
  package func submit(_ spec: JobSpec, _ payloads: [UploadPayload], close: Bool = true) async throws -> Job {
    let job = try await self.service.createJob(spec, requestID: "", tenant: self.tenant)
    var offset: Int64 = 0
    var pieces: [UploadPiece] = []
    for payload in payloads {
      pieces.append(UploadPiece(jobID: job.id, offset: offset, payload: payload))
      offset += payload.length
    }
    let stream = AsyncThrowingStream<UploadPiece, any Error> { continuation in
      for piece in pieces { continuation.yield(piece) }
      continuation.finish()
    }
    if !pieces.isEmpty {
      _ = try await self.service.upload(tenant: self.tenant, pieces: stream)
    }
    guard close else { return try await self.service.job(id: job.id, tenant: self.tenant) }
    return try await self.service.updateState(id: job.id, to: .uploadComplete, tenant: self.tenant)
  }

  /// Watches the job until it is terminal and returns its last state.
  package func finished(_ job: Job) async throws -> Job {
    try await self.service.watch(id: job.id, tenant: self.tenant).run { changes in
      var last = job
      for await change in changes {
        last = change
      }
      return last
    }
  }

  /// Runs a whole job and returns it terminal.
  package func run(_ spec: JobSpec, csv: String) async throws -> Job {
    try await self.finished(try await self.submit(spec, [.bytes(Data(csv.utf8))]))
  }

  /// One result set as text, with paging.
  package func results(
    _ job: Job,
    _ set: ResultSet?,
    locator: String = "",
    maxRecords: Int64 = 0
  ) async throws -> (text: String, records: Int64, next: String) {
    let collected = Mutex<(Data, Int64)>((Data(), 0))
    let next = try await self.service.results(
      id: job.id,
      tenant: self.tenant,
      set: set,
      locator: locator,
      maxRecords: maxRecords
    ) { piece in
      collected.withLock {
        $0.0.append(piece.data)
        $0.1 += piece.recordCount
      }
    }
    let (data, count) = collected.withLock { $0 }
    return (String(decoding: data, as: UTF8.self), count, next)
  }
}
