package import BulkCore
package import Foundation
internal import Synchronization

/// The job catalog in PostgreSQL, in a schema of its own, shared by every instance that names it.
///
/// Each call is one transaction on a connection of the catalog's pool (whose own threads do the
/// blocking libpq calls). What makes it safe for several instances at once:
///
/// - `insert` takes a transaction-scoped advisory lock on (schema, tenant) before it counts the
///   tenant's unfinished jobs, so two instances never both pass the active-job limit. An advisory
///   lock rather than a row of a `tenants` table: a new tenant needs no row made first, the lock
///   goes with the transaction, and a hash collision between two tenants only makes their
///   inserts take turns.
/// - `update` and `delete` read the row with `SELECT … FOR UPDATE` and write it in the same
///   transaction, so concurrent changes of one job serialize and none is lost.
/// - `claim` is one `INSERT … ON CONFLICT DO UPDATE … WHERE` (the lease expired, or the holder
///   already holds it) `RETURNING`: the row lock of the conflict decides between instances.
///
/// A call whose connection fails (`PostgresError.isConnectionFailure`) is retried with backoff.
/// When the failure hid whether the `COMMIT` landed, the retry finds out first: an insert finds
/// its job by id, an update finds the write token it stored (among the job's last 16), a delete
/// finds the row gone; so an acknowledged write is never lost nor applied twice. Leases need no
/// such check: a repeated claim, renewal or release by the same holder does the same again.
package final class PostgresJobCatalog: JobCatalog {
  private let schema: PostgresCatalogSchema
  private let pool: PostgresConnectionPool
  /// How often a call is tried while its connection fails, and the first pause between tries.
  private let attempts: Int
  private let retryDelay: Duration
  private let url: String

  /// Opens the catalog in `schema` of the database at `url`, creating the schema and running any
  /// migrations it has not seen, on one connection of the calling thread (it blocks).
  ///
  /// - Parameters:
  ///   - poolSize: connections the catalog keeps to the database.
  ///   - attempts: how many times a call is tried while its connection fails.
  /// - Throws: `INVALID_ARGUMENT` for a schema name that is not an identifier,
  ///   `FAILED_PRECONDITION` for a schema a newer server wrote, or the `PostgresError` of the
  ///   connection.
  package init(
    url: String,
    schema: String = "spectra",
    poolSize: Int = 4,
    attempts: Int = 5,
    retryDelay: Duration = .milliseconds(100)
  ) throws {
    guard Identifier.isValid(schema) else {
      throw BulkError.invalidArgument(
        "catalog schema '\(schema)' is not an identifier (a letter or _, then letters, digits, _ or $, at most \(Identifier.maxLength) bytes)"
      )
    }
    self.schema = PostgresCatalogSchema(name: schema)
    self.url = url
    let connection = try PostgresConnection(url: url)
    try self.schema.migrate(connection)
    self.pool = PostgresConnectionPool(url: url, size: poolSize)
    self.attempts = max(1, attempts)
    self.retryDelay = retryDelay
  }

  /// The key every instance on this catalog shares under `name`: the one stored, or `make()`'s,
  /// stored by the first instance that asks (`INSERT … ON CONFLICT DO NOTHING`, then read). It
  /// blocks, on a connection of its own, like `init`.
  package func sharedKey(named name: String, make: () -> [UInt8]) throws -> [UInt8] {
    let connection = try PostgresConnection(url: self.url)
    let secrets = self.schema.secrets
    try connection.execute(
      "INSERT INTO \(secrets) (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
      [name, Hex.string(make())]
    )
    guard let stored = try connection.query("SELECT value FROM \(secrets) WHERE name = $1", [name]).first?[0] ?? nil,
      let key = Hex.bytes(stored)
    else {
      throw BulkError(code: .internal, message: "the catalog's \(name) key is missing or not hex")
    }
    return key
  }

  /// The number of migrations the schema has seen.
  package func schemaVersion() async throws -> Int {
    try await self.run { connection, _ in try self.schema.version(connection) }
  }

  /// Closes the catalog's connections; later calls throw.
  package func shutdown() {
    self.pool.shutdown()
  }

  package func insert(
    _ job: Job,
    idempotencyKey: IdempotencyKey?,
    activeJobLimit: Int
  ) async throws -> JobInsertOutcome {
    let jobs = self.schema.jobs
    let schemaName = self.schema.name
    return try await self.run { connection, isRetry in
      try PostgresCatalogSchema.transaction(connection) {
        _ = try connection.query(
          "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
          ["spectra_catalog_tenant:" + schemaName, job.tenantID]
        )
        // An earlier try may have committed before its connection failed.
        if isRetry, let stored = try self.fetch(id: job.id, tenantID: job.tenantID, connection) {
          return .inserted(stored)
        }
        if let idempotencyKey {
          let existing = try connection.query(
            "SELECT \(PostgresCatalogSchema.selectColumns), request_fingerprint FROM \(jobs) WHERE tenant_id = $1 AND request_id = $2",
            [job.tenantID, idempotencyKey.requestID]
          )
          if let row = existing.first {
            return .existing(
              try PostgresCatalogSchema.job(from: row),
              fingerprint: row[PostgresCatalogSchema.columnCount] ?? ""
            )
          }
        }
        let active = try connection.query(
          "SELECT count(*) FROM \(jobs) WHERE tenant_id = $1 AND state IN ('Open', 'UploadComplete', 'InProgress')",
          [job.tenantID]
        )
        let activeCount = (active.first?.first ?? nil).flatMap { Int64($0) } ?? 0
        guard activeCount < Int64(activeJobLimit) else {
          return .activeJobLimitReached
        }
        let count = PostgresCatalogSchema.columnCount
        let parameters =
          (0 ..< count).map { PostgresCatalogSchema.parameter($0 + 1, column: $0) }
          + ["$\(count + 1)", "$\(count + 2)"]
        try connection.execute(
          """
          INSERT INTO \(jobs) (\(PostgresCatalogSchema.jobColumnNames.joined(separator: ", ")), request_id, request_fingerprint)
          VALUES (\(parameters.joined(separator: ", ")))
          """,
          PostgresCatalogSchema.values(of: job) + [idempotencyKey?.requestID, idempotencyKey?.fingerprint]
        )
        // Read back what was stored, so that the caller sees the same values as later reads.
        guard let stored = try self.fetch(id: job.id, tenantID: job.tenantID, connection) else {
          throw PostgresError(message: "job \(job.id) vanished after insert")
        }
        return .inserted(stored)
      }
    }
  }

  package func job(id: String, tenantID: String) async throws -> Job? {
    try await self.run { connection, _ in try self.fetch(id: id, tenantID: tenantID, connection) }
  }

  package func jobs(tenantID: String, state: JobState?, limit: Int, after cursor: Int64?) async throws -> JobPage {
    let jobs = self.schema.jobs
    return try await self.run { connection, _ in
      let rows = try connection.query(
        """
        SELECT \(PostgresCatalogSchema.selectColumns), seq FROM \(jobs)
        WHERE tenant_id = $1 AND ($2::text IS NULL OR state = $2) AND seq < $3
        ORDER BY seq DESC LIMIT $4
        """,
        [tenantID, state?.rawValue, String(cursor ?? Int64.max), String(limit + 1)]
      )
      let page = rows.prefix(limit)
      let more = rows.count > limit
      let lastSequence = page.last.flatMap { $0[PostgresCatalogSchema.columnCount] }.flatMap { Int64($0) }
      return JobPage(
        jobs: try page.map(PostgresCatalogSchema.job(from:)),
        nextCursor: more ? lastSequence : nil
      )
    }
  }

  package func update(
    id: String,
    tenantID: String,
    _ change: @escaping @Sendable (inout Job) throws(BulkError) -> Void
  ) async throws -> Job {
    let jobs = self.schema.jobs
    let token = UUID().uuidString
    return try await self.run { connection, isRetry in
      try PostgresCatalogSchema.transaction(connection) {
        let rows = try connection.query(
          """
          SELECT \(PostgresCatalogSchema.selectColumns), $3 = ANY (write_tokens) FROM \(jobs)
          WHERE tenant_id = $1 AND id = $2 FOR UPDATE
          """,
          [tenantID, id, token]
        )
        guard let row = rows.first else { throw BulkError.jobNotFound(id) }
        var job = try PostgresCatalogSchema.job(from: row)
        // An earlier try committed this very change before its connection failed.
        if isRetry, row[PostgresCatalogSchema.columnCount] == "t" { return job }
        let before = job
        try change(&job)
        guard job != before else { return job }
        let assignments = PostgresCatalogSchema.jobColumnNames.enumerated().dropFirst(2)
          .map { "\($0.element) = \(PostgresCatalogSchema.parameter($0.offset + 1, column: $0.offset))" }
          .joined(separator: ", ")
        let tokenParameter = PostgresCatalogSchema.columnCount + 1
        try connection.execute(
          """
          UPDATE \(jobs) SET \(assignments),
            write_tokens = (ARRAY[$\(tokenParameter)::text] || write_tokens)[1:\(PostgresCatalogSchema.recentWrites)]
          WHERE id = $1 AND tenant_id = $2
          """,
          PostgresCatalogSchema.values(of: job) + [token]
        )
        return try self.fetch(id: id, tenantID: tenantID, connection) ?? job
      }
    }
  }

  package func delete(
    id: String,
    tenantID: String,
    _ check: @escaping @Sendable (Job) throws(BulkError) -> Void
  ) async throws {
    let (jobs, leases, chunks) = (self.schema.jobs, self.schema.leases, self.schema.chunks)
    // Set once a try has sent its DELETE: a retry that then finds no row finds its own work done.
    let deleted = Atomic<Bool>(false)
    try await self.run { connection, _ in
      try PostgresCatalogSchema.transaction(connection) {
        let rows = try connection.query(
          "SELECT \(PostgresCatalogSchema.selectColumns) FROM \(jobs) WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
          [tenantID, id]
        )
        guard let row = rows.first else {
          if deleted.load(ordering: .relaxed) { return }
          throw BulkError.jobNotFound(id)
        }
        try check(try PostgresCatalogSchema.job(from: row))
        deleted.store(true, ordering: .relaxed)
        try connection.execute("DELETE FROM \(jobs) WHERE tenant_id = $1 AND id = $2", [tenantID, id])
        try connection.execute("DELETE FROM \(leases) WHERE tenant_id = $1 AND job_id = $2", [tenantID, id])
        try connection.execute("DELETE FROM \(chunks) WHERE tenant_id = $1 AND job_id = $2", [tenantID, id])
      }
    }
  }

  package func jobs(states: Set<JobState>, createdBefore: Date?) async throws -> [Job] {
    let jobs = self.schema.jobs
    let names = "{" + states.map(\.rawValue).sorted().joined(separator: ",") + "}"
    return try await self.run { connection, _ in
      try connection.query(
        """
        SELECT \(PostgresCatalogSchema.selectColumns) FROM \(jobs)
        WHERE state = ANY ($1::text[]) AND ($2::bigint IS NULL OR created_at < \(PostgresCatalogSchema.timestamp("$2")))
        ORDER BY seq
        """,
        [names, createdBefore.map { String(PostgresCatalogSchema.microseconds($0)) }]
      ).map(PostgresCatalogSchema.job(from:))
    }
  }

  package func countsByState() async throws -> [JobState: Int] {
    let jobs = self.schema.jobs
    return try await self.run { connection, _ in
      var counts: [JobState: Int] = [:]
      for row in try connection.query("SELECT state, count(*) FROM \(jobs) GROUP BY state") {
        if let state = row[0].flatMap(JobState.init(rawValue:)), let count = row[1].flatMap({ Int($0) }) {
          counts[state] = count
        }
      }
      return counts
    }
  }

  package func claim(_ target: LeaseTarget, holder: String, for duration: Duration, now: Date) async throws -> JobLease?
  {
    let leases = self.schema.leases
    let expiry = now.addingTimeInterval(duration.inSeconds)
    let granted = try await self.run { connection, _ in
      try connection.query(
        """
        INSERT INTO \(leases) AS lease (tenant_id, job_id, chunk, holder, expires_at)
        VALUES ($1, $2, $3, $4, \(PostgresCatalogSchema.timestamp("$5")))
        ON CONFLICT (tenant_id, job_id, chunk)
        DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE lease.expires_at <= \(PostgresCatalogSchema.timestamp("$6")) OR lease.holder = excluded.holder
        RETURNING holder
        """,
        Self.key(of: target) + [
          holder, String(PostgresCatalogSchema.microseconds(expiry)), String(PostgresCatalogSchema.microseconds(now)),
        ]
      ).isEmpty == false
    }
    return granted ? JobLease(target: target, holder: holder, expiresAt: Self.rounded(expiry)) : nil
  }

  package func renew(_ lease: JobLease, for duration: Duration, now: Date) async throws -> JobLease? {
    let leases = self.schema.leases
    var renewed = lease
    renewed.expiresAt = Self.rounded(now.addingTimeInterval(duration.inSeconds))
    let expiry = String(PostgresCatalogSchema.microseconds(renewed.expiresAt))
    let held = try await self.run { connection, _ in
      try connection.execute(
        """
        UPDATE \(leases) SET expires_at = \(PostgresCatalogSchema.timestamp("$5"))
        WHERE tenant_id = $1 AND job_id = $2 AND chunk = $3 AND holder = $4
        """,
        Self.key(of: lease.target) + [lease.holder, expiry]
      ) == 1
    }
    return held ? renewed : nil
  }

  package func release(_ lease: JobLease) async throws {
    let leases = self.schema.leases
    _ = try await self.run { connection, _ in
      try connection.execute(
        "DELETE FROM \(leases) WHERE tenant_id = $1 AND job_id = $2 AND chunk = $3 AND holder = $4",
        Self.key(of: lease.target) + [lease.holder]
      )
    }
  }

  package func lease(on target: LeaseTarget) async throws -> JobLease? {
    let leases = self.schema.leases
    return try await self.run { connection, _ in
      let rows = try connection.query(
        """
        SELECT holder, \(PostgresCatalogSchema.microseconds(of: "expires_at")) FROM \(leases)
        WHERE tenant_id = $1 AND job_id = $2 AND chunk = $3
        """,
        Self.key(of: target)
      )
      guard let row = rows.first, let holder = row[0], let expiry = row[1].flatMap({ Int64($0) }) else { return nil }
      return JobLease(target: target, holder: holder, expiresAt: PostgresCatalogSchema.date(expiry))
    }
  }

  /// The lease table's key of `target`, as parameters.
  private static func key(of target: LeaseTarget) -> [String?] {
    let key = target.key
    return [key.tenantID, key.jobID, String(key.chunk)]
  }

  package var sharesWork: Bool { true }

  package func claimChunk(
    _ index: Int,
    jobID: String,
    tenantID: String,
    holder: String,
    for duration: Duration,
    now: Date
  ) async throws -> ChunkClaim {
    let (jobs, leases, chunks) = (self.schema.jobs, self.schema.leases, self.schema.chunks)
    let expiry = now.addingTimeInterval(duration.inSeconds)
    // One statement: the job's state, whether the chunk is finished, and the lease, taken only
    // when the job runs and the chunk is not finished (a finished chunk's lease is gone).
    let row = try await self.run { connection, _ in
      try connection.query(
        """
        WITH job AS (SELECT state FROM \(jobs) WHERE tenant_id = $1 AND id = $2),
        done AS (SELECT 1 FROM \(chunks) WHERE tenant_id = $1 AND job_id = $2 AND chunk = $3),
        taken AS (
          INSERT INTO \(leases) AS lease (tenant_id, job_id, chunk, holder, expires_at)
          SELECT $1, $2, $3, $4, \(PostgresCatalogSchema.timestamp("$5"))
          WHERE EXISTS (SELECT 1 FROM job WHERE state = 'InProgress') AND NOT EXISTS (SELECT 1 FROM done)
          ON CONFLICT (tenant_id, job_id, chunk)
          DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE lease.expires_at <= \(PostgresCatalogSchema.timestamp("$6")) OR lease.holder = excluded.holder
          RETURNING holder
        )
        SELECT (SELECT state FROM job), EXISTS (SELECT 1 FROM done), EXISTS (SELECT 1 FROM taken)
        """,
        [
          tenantID, jobID, String(index), holder, String(PostgresCatalogSchema.microseconds(expiry)),
          String(PostgresCatalogSchema.microseconds(now)),
        ]
      ).first
    }
    if row?[2] == "t" {
      return .granted(
        JobLease(target: .chunk(jobID: jobID, tenantID: tenantID, index: index), holder: holder, expiresAt: Self.rounded(expiry))
      )
    }
    if row?[1] == "t" { return .finished }
    guard row?[0] == JobState.inProgress.rawValue else { return .jobStopped }
    return .heldElsewhere
  }

  package func finishChunk(_ lease: JobLease, counts: ChunkTally) async throws {
    let (leases, chunks) = (self.schema.leases, self.schema.chunks)
    let key = Self.key(of: lease.target)
    try await self.run { connection, _ in
      try PostgresCatalogSchema.transaction(connection) {
        try connection.execute(
          """
          INSERT INTO \(chunks) (tenant_id, job_id, chunk, holder, processed, failed, total, completed, finished_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
          ON CONFLICT (tenant_id, job_id, chunk) DO NOTHING
          """,
          key + [
            lease.holder, String(counts.processed), String(counts.failed), String(counts.total),
            counts.completed ? "true" : "false",
          ]
        )
        _ = try connection.execute(
          "DELETE FROM \(leases) WHERE tenant_id = $1 AND job_id = $2 AND chunk = $3 AND holder = $4",
          key + [lease.holder]
        )
      }
    }
  }

  package func finishedChunks(jobID: String, tenantID: String) async throws -> [FinishedChunk] {
    let chunks = self.schema.chunks
    return try await self.run { connection, _ in
      try connection.query(
        """
        SELECT chunk, holder, processed, failed, total, completed, \(PostgresCatalogSchema.microseconds(of: "finished_at"))
        FROM \(chunks) WHERE tenant_id = $1 AND job_id = $2 ORDER BY chunk
        """,
        [tenantID, jobID]
      ).compactMap { row in
        guard let index = row[0].flatMap({ Int($0) }), let holder = row[1],
          let processed = row[2].flatMap({ Int64($0) }), let failed = row[3].flatMap({ Int64($0) }),
          let total = row[4].flatMap({ Int64($0) }), let finished = row[6].flatMap({ Int64($0) })
        else { return nil }
        return FinishedChunk(
          index: index,
          holder: holder,
          tally: ChunkTally(processed: processed, failed: failed, total: total, completed: row[5] == "t"),
          finishedAt: PostgresCatalogSchema.date(finished)
        )
      }
    }
  }

  package func chunkLeases(jobID: String, tenantID: String, now: Date) async throws -> [JobLease] {
    let leases = self.schema.leases
    return try await self.run { connection, _ in
      try connection.query(
        """
        SELECT chunk, holder, \(PostgresCatalogSchema.microseconds(of: "expires_at")) FROM \(leases)
        WHERE tenant_id = $1 AND job_id = $2 AND chunk >= 0 AND expires_at > \(PostgresCatalogSchema.timestamp("$3"))
        ORDER BY chunk
        """,
        [tenantID, jobID, String(PostgresCatalogSchema.microseconds(now))]
      ).compactMap { row in
        guard let index = row[0].flatMap({ Int($0) }), let holder = row[1], let expiry = row[2].flatMap({ Int64($0) })
        else { return nil }
        return JobLease(
          target: .chunk(jobID: jobID, tenantID: tenantID, index: index),
          holder: holder,
          expiresAt: PostgresCatalogSchema.date(expiry)
        )
      }
    }
  }

  package func jobsToShare(now: Date) async throws -> [Job] {
    let (jobs, leases) = (self.schema.jobs, self.schema.leases)
    return try await self.run { connection, _ in
      try connection.query(
        """
        SELECT \(PostgresCatalogSchema.selectColumns(of: "job")) FROM \(jobs) AS job
        LEFT JOIN (
          SELECT tenant_id, count(*) AS running FROM \(leases)
          WHERE chunk >= 0 AND expires_at > \(PostgresCatalogSchema.timestamp("$1"))
          GROUP BY tenant_id
        ) AS busy ON busy.tenant_id = job.tenant_id
        WHERE job.state = 'InProgress'
        ORDER BY coalesce(busy.running, 0), job.seq
        """,
        [String(PostgresCatalogSchema.microseconds(now))]
      ).map(PostgresCatalogSchema.job(from:))
    }
  }

  /// `date` at the microsecond the catalog stores, so that a returned lease equals a read one.
  private static func rounded(_ date: Date) -> Date {
    PostgresCatalogSchema.date(PostgresCatalogSchema.microseconds(date))
  }

  private func fetch(id: String, tenantID: String, _ connection: PostgresConnection) throws -> Job? {
    try connection.query(
      "SELECT \(PostgresCatalogSchema.selectColumns) FROM \(self.schema.jobs) WHERE tenant_id = $1 AND id = $2",
      [tenantID, id]
    ).first.map(PostgresCatalogSchema.job(from:))
  }

  /// Runs `body` on a connection of the pool, trying again with backoff (doubling, at most 5 s)
  /// while the connection fails; `body` learns whether an earlier try came before.
  private func run<T: Sendable>(
    _ body: @escaping @Sendable (PostgresConnection, _ isRetry: Bool) throws -> T
  ) async throws -> T {
    var delay = self.retryDelay
    var attempt = 1
    while true {
      let isRetry = attempt > 1
      do {
        return try await self.pool.withConnection { connection in try body(connection, isRetry) }
      } catch let error as PostgresError where error.isConnectionFailure && attempt < self.attempts {
        try await Task.sleep(for: delay)
        delay = min(delay * 2, .seconds(5))
        attempt += 1
      }
    }
  }
}
