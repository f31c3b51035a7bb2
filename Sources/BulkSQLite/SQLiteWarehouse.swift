package import BulkCore
internal import CSQLite
internal import Foundation
internal import Synchronization

/// The embedded warehouse: one SQLite file per tenant, `<directory>/<tenant-id>.sqlite`.
///
/// A chunk is one transaction of prepared statements, one per record, plus its ledger row.
/// SQLite undoes a failing statement by itself and keeps the transaction, so a refused record
/// is isolated without any retry. Each tenant's connection is confined to its own serial queue:
/// SQLite has one writer per file anyway, and blocking calls stay off the concurrency pool.
package final class SQLiteWarehouse: Warehouse {
  private let directory: URL
  private let tenants = Mutex<[String: TenantDatabase]>([:])

  /// A warehouse whose tenant files live in `directory` (created if missing).
  package init(directory: String) throws {
    self.directory = URL(fileURLWithPath: directory, isDirectory: true)
    try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
  }

  /// The file of a tenant's tables, `<directory>/<Tenant.warehouseFileName>`.
  package func path(of tenant: Tenant) -> String {
    self.directory.appendingPathComponent(tenant.warehouseFileName).path
  }

  package func describe(table: String, tenant: Tenant) async throws -> TableDescription? {
    try await self.database(of: tenant).run { connection in
      try SQLiteCatalog.describe(table: table, connection)
    }
  }

  /// Values are bound straight from the CSV as uploaded.
  package var loadsCSVAsUploaded: Bool { true }

  package func apply(_ work: ChunkWork, tenant: Tenant) async throws -> [RecordOutcome] {
    let rows =
      try work.csv.map { csv in
        try SQLiteRows(csv: csv, columns: work.columns.compactMap { work.table.column(named: $0) })
      } ?? SQLiteRows(work.records, width: work.columns.count)
    return try await self.database(of: tenant).run { connection in
      try connection.transaction {
        try Self.createLedger(connection)
        if let stored = try Self.ledgerOutcomes(jobID: work.jobID, chunk: work.chunk, connection) {
          return stored
        }
        let outcomes = try ChunkApplier(work: work, rows: rows, connection: connection).apply()
        try connection.prepare("INSERT INTO _spectra_ledger (job_id, chunk, outcomes) VALUES (?1, ?2, ?3)")
          .bind([.text(work.jobID), .integer(Int64(work.chunk)), .blob(RecordOutcome.ledgerBytes(outcomes))])
          .run()
        return outcomes
      }
    }
  }

  package func ledger(jobID: String, tenant: Tenant) async throws -> [Int: [RecordOutcome]] {
    try await self.database(of: tenant).run { connection in
      try Self.createLedger(connection)
      let statement = try connection.prepare("SELECT chunk, outcomes FROM _spectra_ledger WHERE job_id = ?1")
        .bind([.text(jobID)])
      var chunks: [Int: [RecordOutcome]] = [:]
      while try statement.step() {
        chunks[Int(statement.int64(0))] = try Self.decode(statement.value(1), jobID: jobID)
      }
      return chunks
    }
  }

  package func removeLedger(jobID: String, tenant: Tenant) async throws {
    try await self.database(of: tenant).run { connection in
      try Self.createLedger(connection)
      try connection.prepare("DELETE FROM _spectra_ledger WHERE job_id = ?1").bind([.text(jobID)]).run()
    }
  }

  /// Runs the statement on a read-only connection of its own, beside the tenant's writer (the
  /// file is in WAL mode), on a thread of its own so a long query holds up no load.
  package func export(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
    let text = try QueryText(request.sql, dialect: .sqlite, forbiddenFunctions: QueryText.sqliteForbiddenFunctions)
    let query = SQLiteQuery(path: self.path(of: tenant), statement: text.statement, request: request, sink: sink)
    return try await DispatchQueue(label: "spectra.bulk.query.\(request.jobID)").run { try query.run() }
  }

  private static func createLedger(_ connection: SQLiteConnection) throws {
    try connection.execute(
      """
      CREATE TABLE IF NOT EXISTS _spectra_ledger (
        job_id TEXT NOT NULL,
        chunk INTEGER NOT NULL,
        outcomes BLOB NOT NULL,
        committed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (job_id, chunk)
      )
      """
    )
  }

  private static func ledgerOutcomes(
    jobID: String,
    chunk: Int,
    _ connection: SQLiteConnection
  ) throws
    -> [RecordOutcome]?
  {
    let statement = try connection.prepare("SELECT outcomes FROM _spectra_ledger WHERE job_id = ?1 AND chunk = ?2")
      .bind([.text(jobID), .integer(Int64(chunk))])
    return try statement.step() ? Self.decode(statement.value(0), jobID: jobID) : nil
  }

  private static func decode(_ value: SQLiteStatement.Value, jobID: String) throws -> [RecordOutcome] {
    guard case .blob(let bytes) = value, let outcomes = RecordOutcome.fromLedgerBytes(bytes) else {
      throw SQLiteError(code: 0, message: "the ledger row of job \(jobID) cannot be read")
    }
    return outcomes
  }

  private func database(of tenant: Tenant) -> TenantDatabase {
    self.tenants.withLock { tenants in
      if let database = tenants[tenant.id] { return database }
      let database = TenantDatabase(path: self.path(of: tenant))
      tenants[tenant.id] = database
      return database
    }
  }
}

/// One tenant's SQLite file: its connection (a `sqlite3` handle), opened on first use, and the
/// serial queue it is confined to. `connection` is read, opened and used only on `queue`, so no
/// two threads touch the handle at once; that confinement is why the class is
/// `@unchecked Sendable`.
private final class TenantDatabase: @unchecked Sendable {
  private let path: String
  private let queue: DispatchQueue
  private var connection: SQLiteConnection?

  init(path: String) {
    self.path = path
    self.queue = DispatchQueue(label: "spectra.bulk.warehouse.\(path)")
  }

  func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
    try await self.queue.run { try body(self.open()) }
  }

  private func open() throws -> SQLiteConnection {
    if let connection = self.connection { return connection }
    let connection = try SQLiteConnection(path: self.path)
    try connection.execute(
      """
      PRAGMA busy_timeout = 5000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA foreign_keys = ON;
      """
    )
    self.connection = connection
    return connection
  }
}
