package import BulkCore
package import Foundation

/// The job catalog in one SQLite file (WAL, `synchronous=FULL`).
///
/// It serves one instance, so its leases are trivial: every claim is granted (a restarted
/// process, with a new instance id, takes over what the previous one held), and holder and
/// expiry are stored only so that they can be seen.
///
/// Every call runs on one serial dispatch queue, so SQLite's blocking calls and fsyncs stay off
/// the Swift concurrency pool and each call is one transaction on one connection.
package final class SQLiteJobCatalog: JobCatalog {
  private let connection: SQLiteConnection
  private let queue = DispatchQueue(label: "spectra.bulk.catalog")

  /// Opens the catalog in `path`, creating it and running any migrations it has not seen.
  package init(path: String) throws {
    let connection = try SQLiteConnection(path: path)
    try connection.execute(
      """
      PRAGMA busy_timeout = 5000;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      """
    )
    try CatalogSchema.migrate(connection)
    self.connection = connection
  }

  package func insert(
    _ job: Job,
    idempotencyKey: IdempotencyKey?,
    activeJobLimit: Int
  ) async throws
    -> JobInsertOutcome
  {
    try await self.run { connection in
      try connection.transaction {
        if let idempotencyKey {
          let existing = try connection.prepare(
            "SELECT \(CatalogSchema.jobColumns), request_fingerprint FROM jobs WHERE tenant_id = ?1 AND request_id = ?2"
          ).bind([.text(job.tenantID), .text(idempotencyKey.requestID)])
          if try existing.step() {
            return .existing(
              try CatalogSchema.job(from: existing),
              fingerprint: existing.text(CatalogSchema.columnCount)
            )
          }
        }
        let active = try connection.prepare(
          "SELECT count(*) FROM jobs WHERE tenant_id = ?1 AND state IN ('Open', 'UploadComplete', 'InProgress')"
        ).bind([.text(job.tenantID)])
        _ = try active.step()
        guard active.int64(0) < Int64(activeJobLimit) else { return .activeJobLimitReached }

        let insert = try connection.prepare(
          """
          INSERT INTO jobs (\(CatalogSchema.jobColumns), request_id, request_fingerprint)
          VALUES (\(CatalogSchema.placeholders(CatalogSchema.jobColumnNames.count + 2)))
          """
        )
        try insert.bind(
          CatalogSchema.values(of: job) + [
            idempotencyKey.map { .text($0.requestID) } ?? .null,
            idempotencyKey.map { .text($0.fingerprint) } ?? .null,
          ]
        ).run()
        // Read back what was stored, so that the caller sees the same values as later reads.
        guard let stored = try Self.fetch(id: job.id, tenantID: job.tenantID, connection) else {
          throw SQLiteError(code: 0, message: "job \(job.id) vanished after insert")
        }
        return .inserted(stored)
      }
    }
  }

  package func job(id: String, tenantID: String) async throws -> Job? {
    try await self.run { connection in
      try Self.fetch(id: id, tenantID: tenantID, connection)
    }
  }

  package func jobs(tenantID: String, state: JobState?, limit: Int, after cursor: Int64?) async throws -> JobPage {
    try await self.run { connection in
      let statement = try connection.prepare(
        """
        SELECT \(CatalogSchema.jobColumns), seq FROM jobs
        WHERE tenant_id = ?1 AND (?2 IS NULL OR state = ?2) AND seq < ?3
        ORDER BY seq DESC LIMIT ?4
        """
      ).bind([
        .text(tenantID), state.map { .text($0.rawValue) } ?? .null, .integer(cursor ?? Int64.max),
        .integer(Int64(limit) + 1),
      ])
      var jobs: [Job] = []
      var lastSequence: Int64 = 0
      var more = false
      while try statement.step() {
        if jobs.count == limit {
          more = true
          break
        }
        jobs.append(try CatalogSchema.job(from: statement))
        lastSequence = statement.int64(CatalogSchema.columnCount)
      }
      return JobPage(jobs: jobs, nextCursor: more ? lastSequence : nil)
    }
  }

  package func update(
    id: String,
    tenantID: String,
    _ change: @escaping @Sendable (inout Job) throws(BulkError) -> Void
  ) async throws -> Job {
    try await self.run { connection in
      try connection.transaction {
        guard var job = try Self.fetch(id: id, tenantID: tenantID, connection) else { throw BulkError.jobNotFound(id) }
        let before = job
        try change(&job)
        guard job != before else { return job }
        let assignments = CatalogSchema.jobColumnNames.enumerated().dropFirst(2)
          .map { "\($0.element) = ?\($0.offset + 1)" }.joined(separator: ", ")
        try connection.prepare("UPDATE jobs SET \(assignments) WHERE id = ?1 AND tenant_id = ?2")
          .bind(CatalogSchema.values(of: job)).run()
        return try Self.fetch(id: id, tenantID: tenantID, connection) ?? job
      }
    }
  }

  package func delete(
    id: String,
    tenantID: String,
    _ check: @escaping @Sendable (Job) throws(BulkError) -> Void
  ) async throws {
    try await self.run { connection in
      try connection.transaction {
        guard let job = try Self.fetch(id: id, tenantID: tenantID, connection) else { throw BulkError.jobNotFound(id) }
        try check(job)
        try connection.prepare("DELETE FROM jobs WHERE id = ?1 AND tenant_id = ?2")
          .bind([.text(id), .text(tenantID)]).run()
        try connection.prepare("DELETE FROM leases WHERE job_id = ?1 AND tenant_id = ?2")
          .bind([.text(id), .text(tenantID)]).run()
        try connection.prepare("DELETE FROM chunks WHERE job_id = ?1 AND tenant_id = ?2")
          .bind([.text(id), .text(tenantID)]).run()
      }
    }
  }

  package func jobs(states: Set<JobState>, createdBefore: Date?) async throws -> [Job] {
    try await self.run { connection in
      let names = states.map { "'\($0.rawValue)'" }.joined(separator: ", ")
      let statement = try connection.prepare(
        """
        SELECT \(CatalogSchema.jobColumns) FROM jobs
        WHERE state IN (\(names)) AND created_at_us < ?1 ORDER BY seq
        """
      ).bind([.integer(createdBefore.map(CatalogSchema.microseconds) ?? Int64.max)])
      var jobs: [Job] = []
      while try statement.step() {
        jobs.append(try CatalogSchema.job(from: statement))
      }
      return jobs
    }
  }

  package func countsByState() async throws -> [JobState: Int] {
    try await self.run { connection in
      let statement = try connection.prepare("SELECT state, count(*) FROM jobs GROUP BY state")
      var counts: [JobState: Int] = [:]
      while try statement.step() {
        if let state = JobState(rawValue: statement.text(0)) {
          counts[state] = Int(statement.int64(1))
        }
      }
      return counts
    }
  }

  package func claim(_ target: LeaseTarget, holder: String, for duration: Duration, now: Date) async throws -> JobLease? {
    let lease = JobLease(target: target, holder: holder, expiresAt: now.addingTimeInterval(duration.inSeconds))
    try await self.run { connection in
      try connection.prepare(
        """
        INSERT INTO leases (tenant_id, job_id, chunk, holder, expires_at_us) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (tenant_id, job_id, chunk)
        DO UPDATE SET holder = excluded.holder, expires_at_us = excluded.expires_at_us
        """
      ).bind(Self.key(of: target) + [.text(holder), .integer(CatalogSchema.microseconds(lease.expiresAt))]).run()
    }
    return lease
  }

  package func renew(_ lease: JobLease, for duration: Duration, now: Date) async throws -> JobLease? {
    var renewed = lease
    renewed.expiresAt = now.addingTimeInterval(duration.inSeconds)
    let expiry = CatalogSchema.microseconds(renewed.expiresAt)
    let held = try await self.run { connection in
      try connection.transaction {
        guard try Self.fetchLease(on: lease.target, connection)?.holder == lease.holder else { return false }
        try connection.prepare(
          "UPDATE leases SET expires_at_us = ?4 WHERE tenant_id = ?1 AND job_id = ?2 AND chunk = ?3"
        ).bind(Self.key(of: lease.target) + [.integer(expiry)]).run()
        return true
      }
    }
    return held ? renewed : nil
  }

  package func release(_ lease: JobLease) async throws {
    try await self.run { connection in
      try connection.prepare(
        "DELETE FROM leases WHERE tenant_id = ?1 AND job_id = ?2 AND chunk = ?3 AND holder = ?4"
      ).bind(Self.key(of: lease.target) + [.text(lease.holder)]).run()
    }
  }

  package func lease(on target: LeaseTarget) async throws -> JobLease? {
    try await self.run { connection in try Self.fetchLease(on: target, connection) }
  }

  /// The lease table's key of `target`, as parameters.
  private static func key(of target: LeaseTarget) -> [SQLiteStatement.Value] {
    let key = target.key
    return [.text(key.tenantID), .text(key.jobID), .integer(Int64(key.chunk))]
  }

  /// One instance uses it: a job's chunks run where the job runs.
  package var sharesWork: Bool { false }

  package func claimChunk(
    _ index: Int,
    jobID: String,
    tenantID: String,
    holder: String,
    for duration: Duration,
    now: Date
  ) async throws -> ChunkClaim {
    let target = LeaseTarget.chunk(jobID: jobID, tenantID: tenantID, index: index)
    let finished = try await self.run { connection in
      try connection.prepare("SELECT 1 FROM chunks WHERE tenant_id = ?1 AND job_id = ?2 AND chunk = ?3")
        .bind(Self.key(of: target)).step()
    }
    guard !finished else { return .finished }
    guard try await self.job(id: jobID, tenantID: tenantID)?.state == .inProgress else { return .jobStopped }
    return try await self.claim(target, holder: holder, for: duration, now: now).map(ChunkClaim.granted) ?? .heldElsewhere
  }

  package func finishChunk(_ lease: JobLease, counts: ChunkTally) async throws {
    try await self.run { connection in
      try connection.transaction {
        try connection.prepare(
          """
          INSERT INTO chunks (tenant_id, job_id, chunk, holder, processed, failed, total, completed, finished_at_us)
          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING
          """
        ).bind(
          Self.key(of: lease.target) + [
            .text(lease.holder), .integer(counts.processed), .integer(counts.failed), .integer(counts.total),
            .integer(counts.completed ? 1 : 0), .integer(CatalogSchema.microseconds(Date())),
          ]
        ).run()
        try connection.prepare(
          "DELETE FROM leases WHERE tenant_id = ?1 AND job_id = ?2 AND chunk = ?3 AND holder = ?4"
        ).bind(Self.key(of: lease.target) + [.text(lease.holder)]).run()
      }
    }
  }

  package func finishedChunks(jobID: String, tenantID: String) async throws -> [FinishedChunk] {
    try await self.run { connection in
      let statement = try connection.prepare(
        """
        SELECT chunk, holder, processed, failed, total, completed, finished_at_us FROM chunks
        WHERE tenant_id = ?1 AND job_id = ?2 ORDER BY chunk
        """
      ).bind([.text(tenantID), .text(jobID)])
      var chunks: [FinishedChunk] = []
      while try statement.step() {
        chunks.append(
          FinishedChunk(
            index: Int(statement.int64(0)),
            holder: statement.text(1),
            tally: ChunkTally(
              processed: statement.int64(2),
              failed: statement.int64(3),
              total: statement.int64(4),
              completed: statement.int64(5) != 0
            ),
            finishedAt: CatalogSchema.date(statement.int64(6))
          )
        )
      }
      return chunks
    }
  }

  package func chunkLeases(jobID: String, tenantID: String, now: Date) async throws -> [JobLease] {
    try await self.run { connection in
      let statement = try connection.prepare(
        """
        SELECT chunk, holder, expires_at_us FROM leases
        WHERE tenant_id = ?1 AND job_id = ?2 AND chunk >= 0 AND expires_at_us > ?3 ORDER BY chunk
        """
      ).bind([.text(tenantID), .text(jobID), .integer(CatalogSchema.microseconds(now))])
      var leases: [JobLease] = []
      while try statement.step() {
        leases.append(
          JobLease(
            target: .chunk(jobID: jobID, tenantID: tenantID, index: Int(statement.int64(0))),
            holder: statement.text(1),
            expiresAt: CatalogSchema.date(statement.int64(2))
          )
        )
      }
      return leases
    }
  }

  package func jobsToShare(now: Date) async throws -> [Job] {
    try await self.jobs(states: [.inProgress], createdBefore: nil)
  }

  private static func fetchLease(on target: LeaseTarget, _ connection: SQLiteConnection) throws -> JobLease? {
    let statement = try connection.prepare(
      "SELECT holder, expires_at_us FROM leases WHERE tenant_id = ?1 AND job_id = ?2 AND chunk = ?3"
    ).bind(Self.key(of: target))
    guard try statement.step() else { return nil }
    return JobLease(target: target, holder: statement.text(0), expiresAt: CatalogSchema.date(statement.int64(1)))
  }

  private static func fetch(id: String, tenantID: String, _ connection: SQLiteConnection) throws -> Job? {
    let statement = try connection.prepare(
      "SELECT \(CatalogSchema.jobColumns) FROM jobs WHERE id = ?1 AND tenant_id = ?2"
    ).bind([.text(id), .text(tenantID)])
    return try statement.step() ? CatalogSchema.job(from: statement) : nil
  }

  /// Runs `body` on the catalog's queue.
  private func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
    try await self.queue.run { try body(self.connection) }
  }
}
