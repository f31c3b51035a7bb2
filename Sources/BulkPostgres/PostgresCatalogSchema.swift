internal import BulkCore
internal import Foundation

/// The PostgreSQL catalog's tables in its own schema, their migrations, and the mapping between
/// rows and `Job`.
struct PostgresCatalogSchema: Sendable {
  /// The schema's name, unquoted.
  let name: String

  /// `"schema"."table"`.
  func table(_ table: String) -> String {
    Identifier.quoted(self.name) + "." + Identifier.quoted(table)
  }

  var jobs: String { self.table("jobs") }
  var leases: String { self.table("leases") }
  var chunks: String { self.table("chunks") }
  var secrets: String { self.table("secrets") }
  var version: String { self.table("catalog_version") }

  /// Migrations in order, each a list of statements; the `catalog_version` table records how many
  /// have run. Append, never edit.
  ///
  /// A lease's `chunk` is -1 for a lease on the whole job, -2 for the reaper's. A job's `write_tokens` are the tokens
  /// of its last `recentWrites` updates, newest first, by which a retried update knows whether
  /// its earlier try committed.
  var migrations: [[String]] {
    [
      [
        """
        CREATE TABLE \(self.jobs) (
          seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
          tenant_id text NOT NULL,
          id text NOT NULL,
          state text NOT NULL,
          operation text NOT NULL,
          object text NOT NULL,
          content_type text NOT NULL,
          compression text NOT NULL,
          query text NOT NULL,
          external_id_field text NOT NULL,
          column_delimiter text NOT NULL,
          created_at timestamptz NOT NULL,
          updated_at timestamptz NOT NULL,
          records_processed bigint NOT NULL,
          records_failed bigint NOT NULL,
          records_total bigint NOT NULL,
          bytes_uploaded bigint NOT NULL,
          processing_time_ms bigint NOT NULL,
          chunks integer NOT NULL,
          chunks_completed integer NOT NULL,
          error_message text NOT NULL,
          chunk_records integer NOT NULL,
          request_id text,
          request_fingerprint text,
          write_tokens text[] NOT NULL DEFAULT '{}',
          PRIMARY KEY (tenant_id, id)
        )
        """,
        "CREATE UNIQUE INDEX jobs_by_request ON \(self.jobs) (tenant_id, request_id) WHERE request_id IS NOT NULL",
        "CREATE INDEX jobs_by_tenant ON \(self.jobs) (tenant_id, seq)",
        "CREATE INDEX jobs_by_tenant_state ON \(self.jobs) (tenant_id, state, seq)",
        "CREATE INDEX jobs_by_state ON \(self.jobs) (state, created_at)",
        """
        CREATE TABLE \(self.leases) (
          tenant_id text NOT NULL,
          job_id text NOT NULL,
          chunk integer NOT NULL,
          holder text NOT NULL,
          expires_at timestamptz NOT NULL,
          PRIMARY KEY (tenant_id, job_id, chunk)
        )
        """,
      ],
      // The chunks instances finished, with their holder and counts (shared chunks, #17).
      [
        """
        CREATE TABLE \(self.chunks) (
          tenant_id text NOT NULL,
          job_id text NOT NULL,
          chunk integer NOT NULL,
          holder text NOT NULL,
          processed bigint NOT NULL,
          failed bigint NOT NULL,
          total bigint NOT NULL,
          completed boolean NOT NULL,
          finished_at timestamptz NOT NULL,
          PRIMARY KEY (tenant_id, job_id, chunk)
        )
        """,
        "CREATE INDEX leases_by_tenant_expiry ON \(self.leases) (tenant_id, expires_at) WHERE chunk >= 0",
      ],
      // Keys every instance must share, such as the one that signs upload URLs and page tokens.
      [
        "CREATE TABLE \(self.secrets) (name text PRIMARY KEY, value text NOT NULL)"
      ],
    ]
  }

  /// How many update tokens a job keeps: a retried update whose token is gone (more than this
  /// many updates of the job came in between) cannot tell, and is applied again.
  static let recentWrites = 16

  /// Runs the migrations the schema has not seen yet, each in its own transaction taken under a
  /// transaction-scoped advisory lock on the schema's name, so that instances starting at once
  /// migrate once: the others wait for the lock, then find the version advanced.
  ///
  /// - Throws: `FAILED_PRECONDITION` when a newer server wrote the schema.
  func migrate(_ connection: PostgresConnection) throws {
    let migrations = self.migrations
    while true {
      let done = try Self.transaction(connection) { () throws -> Bool in
        _ = try connection.query(
          "SELECT pg_advisory_xact_lock(hashtext($1))",
          ["spectra_catalog_migration:" + self.name]
        )
        // Asked first: `CREATE SCHEMA IF NOT EXISTS` needs `CREATE` on the database even when the
        // schema exists, which a login given only the schema need not have.
        if try connection.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [self.name]).isEmpty {
          try connection.execute("CREATE SCHEMA \(Identifier.quoted(self.name))")
        }
        try connection.execute(
          """
          CREATE TABLE IF NOT EXISTS \(self.version) (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version integer NOT NULL
          )
          """
        )
        try connection.execute("INSERT INTO \(self.version) (version) VALUES (0) ON CONFLICT DO NOTHING")
        let version = try self.version(connection)
        guard version <= migrations.count else {
          throw BulkError(
            code: .failedPrecondition,
            message:
              "catalog schema version \(version) is newer than this server (\(migrations.count)); upgrade the server"
          )
        }
        guard version < migrations.count else { return true }
        for statement in migrations[version] {
          try connection.execute(statement)
        }
        try connection.execute("UPDATE \(self.version) SET version = $1", [String(version + 1)])
        return false
      }
      if done { return }
    }
  }

  /// The migrations that have run, for tests and operators.
  func version(_ connection: PostgresConnection) throws -> Int {
    let value = try connection.query("SELECT version FROM \(self.version)").first?.first ?? nil
    return value.flatMap { Int($0) } ?? 0
  }

  /// Runs `body` between `BEGIN` and `COMMIT`; rolls back when it throws.
  static func transaction<T>(_ connection: PostgresConnection, _ body: () throws -> T) throws -> T {
    try connection.execute("BEGIN")
    do {
      let result = try body()
      try connection.execute("COMMIT")
      return result
    } catch {
      _ = try? connection.execute("ROLLBACK")
      throw error
    }
  }

  /// The job's columns in the order of `values(of:)` and `job(from:)`, as stored.
  static let jobColumnNames = [
    "id", "tenant_id", "state", "operation", "object", "content_type", "compression", "query",
    "external_id_field", "column_delimiter", "created_at", "updated_at", "records_processed",
    "records_failed", "records_total", "bytes_uploaded", "processing_time_ms", "chunks", "chunks_completed",
    "error_message", "chunk_records",
  ]

  /// Indexes of the timestamp columns, which travel as microseconds since 1970.
  static let timestampColumns: Set<Int> = [10, 11]

  /// The select list of a job, timestamps as microseconds.
  static let selectColumns = Self.selectColumns(of: nil)

  /// The select list of a job whose table is named `alias` in the query.
  static func selectColumns(of alias: String?) -> String {
    Self.jobColumnNames.enumerated().map { index, name in
      let column = alias.map { "\($0).\(name)" } ?? name
      return Self.timestampColumns.contains(index) ? Self.microseconds(of: column) : column
    }.joined(separator: ", ")
  }

  static var columnCount: Int { Self.jobColumnNames.count }

  /// The SQL of parameter `$index` as the column at `column` takes it.
  static func parameter(_ index: Int, column: Int) -> String {
    Self.timestampColumns.contains(column) ? Self.timestamp("$\(index)") : "$\(index)"
  }

  /// A `timestamptz` from a parameter of microseconds since 1970, exactly.
  static func timestamp(_ parameter: String) -> String {
    "(timestamptz 'epoch' + \(parameter)::bigint * interval '1 microsecond')"
  }

  /// Microseconds since 1970 of a `timestamptz` expression.
  static func microseconds(of expression: String) -> String {
    "round(extract(epoch FROM \(expression)) * 1000000)::bigint"
  }

  static func values(of job: Job) -> [String?] {
    [
      job.id, job.tenantID, job.state.rawValue, job.operation.rawValue, job.object, job.contentType.rawValue,
      job.compression.rawValue, job.query, job.externalIDField, String(job.columnDelimiter),
      String(Self.microseconds(job.createdAt)), String(Self.microseconds(job.updatedAt)),
      String(job.numberRecordsProcessed), String(job.numberRecordsFailed), String(job.numberRecordsTotal),
      String(job.bytesUploaded), String(job.totalProcessingTimeMs), String(job.numberChunks),
      String(job.numberChunksCompleted), job.errorMessage, String(job.chunkRecords),
    ]
  }

  static func job(from row: [String?]) throws -> Job {
    func text(_ column: Int) -> String { row[column] ?? "" }
    func integer(_ column: Int) -> Int64 { Int64(text(column)) ?? 0 }
    func decode<T: RawRepresentable<String>>(_ column: Int, as type: T.Type) throws -> T {
      let raw = text(column)
      guard let value = T(rawValue: raw) else {
        throw PostgresError(message: "catalog column \(Self.jobColumnNames[column]) holds unknown '\(raw)'")
      }
      return value
    }
    return Job(
      id: text(0),
      tenantID: text(1),
      state: try decode(2, as: JobState.self),
      operation: try decode(3, as: BulkCore.Operation.self),
      object: text(4),
      contentType: try decode(5, as: ContentType.self),
      compression: try decode(6, as: Compression.self),
      query: text(7),
      externalIDField: text(8),
      columnDelimiter: text(9).first ?? ",",
      createdAt: Self.date(integer(10)),
      updatedAt: Self.date(integer(11)),
      numberRecordsProcessed: integer(12),
      numberRecordsFailed: integer(13),
      numberRecordsTotal: integer(14),
      bytesUploaded: integer(15),
      totalProcessingTimeMs: integer(16),
      numberChunks: Int32(clamping: integer(17)),
      numberChunksCompleted: Int32(clamping: integer(18)),
      errorMessage: text(19),
      chunkRecords: Int32(clamping: integer(20))
    )
  }

  static func microseconds(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
  }

  static func date(_ microseconds: Int64) -> Date {
    Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
  }
}
