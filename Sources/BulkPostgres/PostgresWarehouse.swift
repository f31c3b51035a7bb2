package import BulkCore
internal import Foundation
package import Logging
internal import Synchronization

/// The warehouse on PostgreSQL (or Redshift) over libpq.
///
/// Each tenant's tables live in the schema `tenant.schema`, and every name is quoted when it
/// reaches SQL. Each chunk is applied in one transaction together with its row in the tenant's
/// ledger table `_spectra_ledger` (see `PostgresChunkLoader` for how records are loaded and bad
/// ones isolated). All database work runs on the connection pool's own threads.
package final class PostgresWarehouse: Warehouse {
  /// The dialect the warehouse speaks, chosen by the URL's scheme or the initializer.
  package let dialect: SQLDialect
  /// The loader's connections: chunks, ledgers, descriptions and query roles' grants, never
  /// tenant-written SQL.
  private let pool: PostgresConnectionPool
  private let url: String
  private let logger: Logger
  /// Schemas whose ledger table is known to exist, so it is created once, not per chunk.
  private let ledgerSchemas = Mutex<Set<String>>([])
  private let queryRolePasswords: QueryRolePasswords
  private let queryConcurrency: Int
  /// The size of each range of a whole-table export read on two connections at once.
  private let wholeTableRangeBytes: Int64
  /// Each tenant's pool of query connections, logged in as its query role, with the login it
  /// was made for.
  private let queryPools = Mutex<[String: (login: PostgresLogin, pool: PostgresConnectionPool)]>([:])

  /// A warehouse at `url` with `poolSize` loader connections, opened on first use.
  ///
  /// A `redshift://` URL selects `.redshift` whatever `dialect` says, and is given to libpq as
  /// `postgresql://`.
  ///
  /// - Parameters:
  ///   - queryRoleDirectory: where the passwords of the query roles the server provisions are
  ///     kept (mode 0600); `nil` keeps them in memory, and a restart sets new ones.
  ///   - queryConcurrency: query jobs of one tenant that run at once; each logs in afresh. The
  ///     tenant's query pool holds twice as many connections, so that each of them may read a
  ///     whole table on two.
  ///   - wholeTableRangeBytes: a whole-table export (a query job without a query) of a plain
  ///     table of at least two ranges of this size is read on two connections at once, when the
  ///     tenant's query pool has a second one free, each taking the next range in turn (see
  ///     `PostgresQuery`); 0 reads every table with one statement. On this project's 2-core
  ///     machine, two `COPY … TO` of the halves of a 96 MiB table took 0.25–0.27 s against
  ///     0.41–0.44 s for one. A range of 8 MiB reads in a few tens of milliseconds, which keeps
  ///     the second login (a new backend, a few milliseconds) and each range's statement small
  ///     beside it.
  package init(
    url: String,
    poolSize: Int,
    dialect: SQLDialect = .postgres,
    queryRoleDirectory: String? = nil,
    queryConcurrency: Int = 2,
    wholeTableRangeBytes: Int64 = 8 << 20,
    logger: Logger
  ) {
    let resolved = SQLDialect.resolve(url: url, fallback: dialect)
    self.dialect = resolved.dialect
    self.url = resolved.url
    self.pool = PostgresConnectionPool(url: resolved.url, size: poolSize)
    self.queryRolePasswords = QueryRolePasswords(directory: queryRoleDirectory)
    self.queryConcurrency = queryConcurrency
    self.wholeTableRangeBytes = wholeTableRangeBytes
    self.logger = logger
  }

  /// Closes the connections; calls after this throw.
  package func shutdown() {
    self.pool.shutdown()
    for entry in self.queryPools.withLock({ Array($0.values) }) {
      entry.pool.shutdown()
    }
  }

  /// Reads the table from `pg_catalog`: columns in order with their declared types, nullability
  /// and defaults, the primary key, and the columns that alone carry a unique constraint or
  /// index usable as an upsert key (not partial, not on an expression, not deferrable).
  package func describe(table: String, tenant: Tenant) async throws -> TableDescription? {
    let dialect = self.dialect
    return try await self.pool.withConnection { connection in
      guard let oid = try connection.query(dialect.tableOID, [tenant.schema, table]).first?.first ?? nil else {
        return nil
      }
      var columns: [ColumnDescription] = []
      var names: [Int: String] = [:]
      for row in try connection.query(dialect.tableColumns, [oid]) {
        guard let number = row[0].flatMap({ Int($0) }), let name = row[1], let declaredType = row[2] else { continue }
        names[number] = name
        columns.append(
          ColumnDescription(
            name: name,
            declaredType: declaredType,
            type: SQLDialect.columnType(typeName: row[5] ?? ""),
            nullable: row[3] != "t",
            hasDefault: row[4] == "t"
          )
        )
      }
      var primaryKey: [String] = []
      var uniqueColumns: Set<String> = []
      for row in try connection.query(dialect.tableKeys, [oid]) {
        // `indkey` reads "1 3", `conkey` reads "{1,3}"; a 0 is an expression.
        let numbers = (row[1] ?? "").split { !$0.isNumber }.compactMap { Int($0) }
        let keyNumbers = row[2].flatMap { Int($0) }.map { Array(numbers.prefix($0)) } ?? numbers
        let keyNames = keyNumbers.compactMap { names[$0] }
        guard keyNames.count == keyNumbers.count else { continue }
        if row[0] == "t", primaryKey.isEmpty { primaryKey = keyNames }
        if row[3] == "t", keyNames.count == 1 { uniqueColumns.insert(keyNames[0]) }
      }
      return TableDescription(name: table, columns: columns, primaryKey: primaryKey, uniqueColumns: uniqueColumns)
    }
  }

  /// Applies the chunk in one transaction with its ledger row, as `Warehouse.apply` promises;
  /// throws `PostgresError` for a failure of the connection or the table, and
  /// `BulkError.invalidArgument` for a chunk that does not fit its table.
  /// PostgreSQL loads CSV as uploaded with `COPY`; Redshift's loads go through S3.
  package var loadsCSVAsUploaded: Bool { self.dialect == .postgres }

  package func apply(_ work: ChunkWork, tenant: Tenant) async throws -> [RecordOutcome] {
    guard self.dialect == .postgres else {
      throw PostgresError(
        message: "Redshift loads go through S3: RedshiftWarehouse, configured by --redshift-s3-prefix "
          + "and --redshift-iam-role, runs them"
      )
    }
    let statements = PostgresChunkStatements(shape: try ChunkShape(work: work, schema: tenant.schema))
    let ledger = LedgerStatements(schema: tenant.schema, dialect: self.dialect)
    let ledgerExists = self.ledgerSchemas.withLock { $0.contains(tenant.schema) }
    let started = ContinuousClock.now
    let outcomes: [RecordOutcome]
    do {
      outcomes = try await self.pool.withConnection { connection in
        if !ledgerExists { try Self.createLedger(ledger, on: connection) }
        return try Self.apply(work, statements: statements, ledger: ledger, on: connection)
      }
    } catch let error as PostgresError where error.sqlState == "42P01" {
      // The ledger (or the table) is gone, e.g. the schema was recreated: check it again next time.
      self.ledgerSchemas.withLock { _ = $0.remove(tenant.schema) }
      throw error
    }
    self.ledgerSchemas.withLock { _ = $0.insert(tenant.schema) }
    self.logger.debug(
      "applied chunk",
      metadata: [
        "job": "\(work.jobID)", "chunk": "\(work.chunk)", "records": "\(outcomes.count)",
        "failed": "\(outcomes.count { if case .failed = $0 { true } else { false } })",
        "duration": "\(ContinuousClock.now - started)",
      ]
    )
    return outcomes
  }

  /// The job's committed chunks; empty when the tenant has no ledger table yet.
  package func ledger(jobID: String, tenant: Tenant) async throws -> [Int: [RecordOutcome]] {
    let ledger = LedgerStatements(schema: tenant.schema, dialect: self.dialect)
    return try await self.pool.withConnection { connection in
      var chunks: [Int: [RecordOutcome]] = [:]
      let rows: [[String?]]
      do {
        rows = try connection.query(ledger.jobOutcomes, [jobID])
      } catch let error as PostgresError where Self.isMissingLedger(error) {
        return [:]
      }
      // A chunk's hex comes in one row (PostgreSQL) or in pieces, in order (Redshift).
      var pieces: [Int: String] = [:]
      for row in rows {
        guard let chunk = row[0].flatMap({ Int($0) }) else { continue }
        pieces[chunk, default: ""] += row[1] ?? ""
      }
      for (chunk, hex) in pieces {
        chunks[chunk] = try Self.decodeOutcomes(hex)
      }
      return chunks
    }
  }

  /// Forgets the job's chunks; nothing to do when the tenant has no ledger table yet.
  package func removeLedger(jobID: String, tenant: Tenant) async throws {
    let ledger = LedgerStatements(schema: tenant.schema, dialect: self.dialect)
    try await self.pool.withConnection { connection in
      do {
        try connection.execute(ledger.remove, [jobID])
      } catch let error as PostgresError where Self.isMissingLedger(error) {
        return
      }
    }
  }

  /// Runs a query job's statement sandboxed (see `PostgresQuery`) on a connection logged in as
  /// the tenant's query role (see `PostgresQueryRole`), streaming its rows to `sink` through
  /// `COPY … TO STDOUT`.
  package func export(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
    guard self.dialect == .postgres else {
      throw BulkError.queryRefused(
        "Redshift exports go through S3 (UNLOAD): RedshiftWarehouse, configured by --redshift-s3-prefix "
          + "and --redshift-iam-role, runs them"
      )
    }
    let text = try QueryText(request.sql, dialect: .postgres, forbiddenFunctions: QueryText.postgresForbiddenFunctions)
    let query = PostgresQuery(
      statement: text.statement,
      schema: tenant.schema,
      request: request,
      sink: sink,
      rangeBytes: self.wholeTableRangeBytes
    )
    return try await self.withQueryConnection(tenant: tenant) { try query.run(on: $0, spare: $1) }
  }

  /// Runs `body` on a connection of the loader's pool: for the chunk work of a warehouse built
  /// on this one (Redshift's), never for tenant-written SQL.
  package func withLoaderConnection<T: Sendable>(
    _ body: @escaping @Sendable (PostgresConnection) throws -> T
  ) async throws -> T {
    try await self.pool.withConnection(body)
  }

  /// Runs `body` on a connection logged in as the tenant's query role (see
  /// `PostgresQueryRole`), granted its schema's tables first; the only connections that may run
  /// tenant-written SQL.
  package func withQueryConnection<T: Sendable>(
    tenant: Tenant,
    _ body: @escaping @Sendable (PostgresConnection) throws -> T
  ) async throws -> T {
    try await self.withQueryConnection(tenant: tenant) { connection, _ in try body(connection) }
  }

  /// `withQueryConnection`, with the pool the connection came from, for a second connection
  /// when one is free.
  private func withQueryConnection<T: Sendable>(
    tenant: Tenant,
    _ body: @escaping @Sendable (PostgresConnection, PostgresConnectionPool) throws -> T
  ) async throws -> T {
    let role = PostgresQueryRole(tenant: tenant)
    do {
      let pool = try await self.queryPool(role)
      return try await pool.withConnection { try body($0, pool) }
    } catch let error as PostgresError where error.isConnectionFailure && tenant.queryLogin == nil {
      // Another server on this warehouse may have set a new password for the provisioned role.
      guard error.message.contains("password authentication failed") else { throw error }
      self.queryRolePasswords.forget(role.provisionedName)
      let pool = try await self.queryPool(role)
      return try await pool.withConnection { try body($0, pool) }
    } catch let error as PostgresError where error.isConnectionFailure && Self.isLoginRefusal(error) {
      throw BulkError.queryRefused(
        "the query login of tenant \(tenant.id) (\(tenant.queryLogin.map { "\($0)" } ?? role.provisionedName)) "
          + "was refused: \(error.message)"
      )
    }
  }

  /// On a query connection: refuses a login that holds more than reading `schema` (see
  /// `PostgresQueryRole.checkFence`), before any tenant-written SQL runs on it.
  package static func checkQueryFence(schema: String, on connection: PostgresConnection) throws {
    try PostgresQueryRole.checkFence(schema: schema, on: connection)
  }

  /// The family of a result column's type by its OID, as PostgreSQL's (and Redshift's) catalog
  /// numbers it.
  package static func queryColumnType(oid: UInt32) -> ColumnType {
    PostgresQuery.columnType(oid: oid)
  }

  /// A result field in the text form the server writes, as a typed value of `type`.
  package static func queryValue(_ text: String, type: ColumnType) -> FieldValue {
    PostgresQuery.value(text, type: type)
  }

  /// The tenant's pool of query connections, for the login its role has now; made anew when
  /// the login changed (a new password).
  private func queryPool(_ role: PostgresQueryRole) async throws -> PostgresConnectionPool {
    let (url, passwords) = (self.url, self.queryRolePasswords)
    let login = try await self.pool.withConnection { loader in
      try role.prepare(warehouseURL: url, passwords: passwords, on: loader)
    }
    return self.queryPools.withLock { pools in
      if let entry = pools[role.tenant.id], entry.login == login { return entry.pool }
      let pool = PostgresConnectionPool(login: login, size: 2 * self.queryConcurrency, reusesConnections: false)
      pools[role.tenant.id] = (login, pool)
      return pool
    }
  }

  /// Creates the tenant's ledger table in a transaction of its own. First chunks that run at
  /// once race to create it, and `IF NOT EXISTS` does not stop the losers from failing on the
  /// winner's catalog rows (its row type, 42710; its name, 42P07 or 23505): after such a failure
  /// the table exists, which a second `CREATE … IF NOT EXISTS` confirms.
  package static func createLedger(_ ledger: LedgerStatements, on connection: PostgresConnection) throws {
    do {
      try connection.execute(ledger.create)
    } catch let error as PostgresError where ["23505", "42P07", "42710"].contains(error.sqlState ?? "") {
      try connection.execute(ledger.create)
    }
  }

  /// One chunk's transaction: the chunk's ledger row claimed first (a chunk already committed
  /// is returned as stored), then the records, then the row's outcomes, then the commit.
  private static func apply(
    _ work: ChunkWork,
    statements: PostgresChunkStatements,
    ledger: LedgerStatements,
    on connection: PostgresConnection
  ) throws -> [RecordOutcome] {
    try connection.execute("BEGIN")
    do {
      // Deferred constraints would fail the whole chunk at COMMIT, past where a bad record can be
      // isolated; checked per statement, they fail the record that breaks them.
      try connection.execute("SET CONSTRAINTS ALL IMMEDIATE")
      let chunk = String(work.chunk)
      if try connection.query(ledger.claimChunk, [work.jobID, chunk]).isEmpty {
        let stored = try connection.query(ledger.chunkOutcomes, [work.jobID, chunk]).first
        try connection.execute("ROLLBACK")
        return try Self.decodeOutcomes(stored?[0] ?? nil)
      }
      var loader = PostgresChunkLoader(connection: connection, work: work, statements: statements)
      let outcomes = try loader.load()
      try connection.execute(ledger.recordChunk, [work.jobID, chunk, Hex.string(RecordOutcome.ledgerBytes(outcomes))])
      try connection.execute("COMMIT")
      return outcomes
    } catch {
      // On a live connection, nothing of the chunk may stay; on a dead one the server has
      // already rolled back.
      if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
      throw error
    }
  }

  /// Whether the server refused a login (a wrong password, an unknown role) rather than being
  /// out of reach, which is retried.
  private static func isLoginRefusal(_ error: PostgresError) -> Bool {
    error.message.contains("authentication failed") || error.message.contains("does not exist")
  }

  private static func isMissingLedger(_ error: PostgresError) -> Bool {
    // undefined_table, invalid_schema_name.
    error.sqlState == "42P01" || error.sqlState == "3F000"
  }

  private static func decodeOutcomes(_ hex: String?) throws -> [RecordOutcome] {
    guard let hex, let bytes = Hex.bytes(hex), let outcomes = RecordOutcome.fromLedgerBytes(bytes) else {
      throw PostgresError(message: "a ledger row holds outcomes that cannot be read")
    }
    return outcomes
  }
}
