internal import BulkCore
internal import Foundation

/// The catalog's tables, their migrations and the mapping between rows and `Job`.
enum CatalogSchema {
  /// Migrations in order; `PRAGMA user_version` records how many have run. Append, never edit.
  static let migrations: [String] = [
    """
    CREATE TABLE jobs (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      tenant_id TEXT NOT NULL,
      state TEXT NOT NULL,
      operation TEXT NOT NULL,
      object TEXT NOT NULL,
      content_type TEXT NOT NULL,
      compression TEXT NOT NULL,
      query TEXT NOT NULL,
      external_id_field TEXT NOT NULL,
      column_delimiter TEXT NOT NULL,
      created_at_us INTEGER NOT NULL,
      updated_at_us INTEGER NOT NULL,
      records_processed INTEGER NOT NULL,
      records_failed INTEGER NOT NULL,
      records_total INTEGER NOT NULL,
      bytes_uploaded INTEGER NOT NULL,
      processing_time_ms INTEGER NOT NULL,
      chunks INTEGER NOT NULL,
      chunks_completed INTEGER NOT NULL,
      error_message TEXT NOT NULL,
      request_id TEXT,
      request_fingerprint TEXT
    );
    CREATE UNIQUE INDEX jobs_by_request ON jobs (tenant_id, request_id) WHERE request_id IS NOT NULL;
    CREATE INDEX jobs_by_tenant ON jobs (tenant_id, seq);
    CREATE INDEX jobs_by_tenant_state ON jobs (tenant_id, state, seq);
    """,
    """
    ALTER TABLE jobs ADD COLUMN chunk_records INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX jobs_by_state ON jobs (state, created_at_us);
    """,
    // Leases on jobs (chunk -1) and on chunks: which instance works on what, until when.
    """
    CREATE TABLE leases (
      tenant_id TEXT NOT NULL,
      job_id TEXT NOT NULL,
      chunk INTEGER NOT NULL,
      holder TEXT NOT NULL,
      expires_at_us INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, job_id, chunk)
    );
    """,
    // Finished chunks, as a shared catalog records them (#17); one instance records none.
    """
    CREATE TABLE chunks (
      tenant_id TEXT NOT NULL,
      job_id TEXT NOT NULL,
      chunk INTEGER NOT NULL,
      holder TEXT NOT NULL,
      processed INTEGER NOT NULL,
      failed INTEGER NOT NULL,
      total INTEGER NOT NULL,
      completed INTEGER NOT NULL,
      finished_at_us INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, job_id, chunk)
    );
    """,
  ]

  /// Runs the migrations the database has not seen yet, each in its own transaction.
  static func migrate(_ connection: SQLiteConnection) throws {
    let versionStatement = try connection.prepare("PRAGMA user_version")
    _ = try versionStatement.step()
    let version = Int(versionStatement.int64(0))
    guard version <= Self.migrations.count else {
      throw SQLiteError(
        code: 0,
        message:
          "catalog schema version \(version) is newer than this server (\(Self.migrations.count)); upgrade the server"
      )
    }
    for (index, migration) in Self.migrations.enumerated().dropFirst(version) {
      try connection.transaction {
        try connection.execute(migration)
        try connection.execute("PRAGMA user_version = \(index + 1)")
      }
    }
  }

  /// The job's columns in the order of `values(of:)` and `job(from:)`.
  static let jobColumnNames = [
    "id", "tenant_id", "state", "operation", "object", "content_type", "compression", "query",
    "external_id_field", "column_delimiter", "created_at_us", "updated_at_us", "records_processed",
    "records_failed", "records_total", "bytes_uploaded", "processing_time_ms", "chunks", "chunks_completed",
    "error_message", "chunk_records",
  ]

  static let jobColumns = Self.jobColumnNames.joined(separator: ", ")

  /// `?1, ?2, …, ?count`.
  static func placeholders(_ count: Int) -> String {
    (1 ... count).map { "?\($0)" }.joined(separator: ", ")
  }
  static let columnCount = Int32(Self.jobColumnNames.count)

  static func values(of job: Job) -> [SQLiteStatement.Value] {
    [
      .text(job.id), .text(job.tenantID), .text(job.state.rawValue), .text(job.operation.rawValue),
      .text(job.object), .text(job.contentType.rawValue), .text(job.compression.rawValue), .text(job.query),
      .text(job.externalIDField), .text(String(job.columnDelimiter)), .integer(Self.microseconds(job.createdAt)),
      .integer(Self.microseconds(job.updatedAt)), .integer(job.numberRecordsProcessed),
      .integer(job.numberRecordsFailed), .integer(job.numberRecordsTotal), .integer(job.bytesUploaded),
      .integer(job.totalProcessingTimeMs), .integer(Int64(job.numberChunks)),
      .integer(Int64(job.numberChunksCompleted)), .text(job.errorMessage), .integer(Int64(job.chunkRecords)),
    ]
  }

  static func job(from row: SQLiteStatement) throws -> Job {
    func decode<T: RawRepresentable<String>>(_ column: Int32, as type: T.Type) throws -> T {
      let raw = row.text(column)
      guard let value = T(rawValue: raw) else {
        throw SQLiteError(code: 0, message: "catalog column \(Self.jobColumnNames[Int(column)]) holds unknown '\(raw)'")
      }
      return value
    }
    return Job(
      id: row.text(0),
      tenantID: row.text(1),
      state: try decode(2, as: JobState.self),
      operation: try decode(3, as: BulkCore.Operation.self),
      object: row.text(4),
      contentType: try decode(5, as: ContentType.self),
      compression: try decode(6, as: Compression.self),
      query: row.text(7),
      externalIDField: row.text(8),
      columnDelimiter: row.text(9).first ?? ",",
      createdAt: Self.date(row.int64(10)),
      updatedAt: Self.date(row.int64(11)),
      numberRecordsProcessed: row.int64(12),
      numberRecordsFailed: row.int64(13),
      numberRecordsTotal: row.int64(14),
      bytesUploaded: row.int64(15),
      totalProcessingTimeMs: row.int64(16),
      numberChunks: Int32(clamping: row.int64(17)),
      numberChunksCompleted: Int32(clamping: row.int64(18)),
      errorMessage: row.text(19),
      chunkRecords: Int32(clamping: row.int64(20))
    )
  }

  static func microseconds(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
  }

  static func date(_ microseconds: Int64) -> Date {
    Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
  }
}
