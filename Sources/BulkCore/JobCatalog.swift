package import Foundation

/// Durable storage of jobs, scoped by tenant, that several server instances may share.
///
/// Implementations run each method as one atomic step: `update` and `delete` read, check and
/// write in a single transaction, so two concurrent calls never both act on the same old state.
///
/// Work on a job (running it, resuming it, reaping it) is done only by the instance that holds
/// its lease: `claim` takes it for a while, `renew` extends it, `release` gives it back, and a
/// lease that expires (its instance died) can be claimed by another. A shared catalog takes
/// leases with `SELECT … FOR UPDATE SKIP LOCKED` and renews them from a heartbeat; one that
/// only one instance uses (SQLite) grants every claim, and still records holder and expiry.
package protocol JobCatalog: Sendable {
  /// Stores a new job, unless the tenant already used `idempotencyKey`.
  ///
  /// A job is refused when the tenant already has `activeJobLimit` jobs that are not terminal.
  func insert(_ job: Job, idempotencyKey: IdempotencyKey?, activeJobLimit: Int) async throws -> JobInsertOutcome

  /// The tenant's job with this id, or `nil`.
  func job(id: String, tenantID: String) async throws -> Job?

  /// The tenant's jobs, newest first, starting after `cursor`.
  func jobs(tenantID: String, state: JobState?, limit: Int, after cursor: Int64?) async throws -> JobPage

  /// Jobs of every tenant in one of `states`, created before `createdBefore` when given, oldest
  /// first: for the engine's recovery after a restart and for the lifetime limits.
  func jobs(states: Set<JobState>, createdBefore: Date?) async throws -> [Job]

  /// How many jobs, of all tenants, are in each state.
  func countsByState() async throws -> [JobState: Int]

  /// Reads the job, lets `change` modify it and stores the result, in one transaction.
  ///
  /// - Throws: `NOT_FOUND` when the tenant has no such job, or what `change` throws (then nothing
  ///   is stored).
  func update(
    id: String,
    tenantID: String,
    _ change: @escaping @Sendable (inout Job) throws(BulkError) -> Void
  ) async throws -> Job

  /// Removes the job after `check` accepts it, in one transaction.
  ///
  /// - Throws: `NOT_FOUND` when the tenant has no such job, or what `check` throws.
  func delete(id: String, tenantID: String, _ check: @escaping @Sendable (Job) throws(BulkError) -> Void) async throws

  /// Claims `target` for `holder` until `now + duration`, unless another holder's lease on it
  /// has not expired by `now`; a holder's own lease is extended. Returns the lease, or `nil`
  /// when another instance holds it.
  func claim(_ target: LeaseTarget, holder: String, for duration: Duration, now: Date) async throws -> JobLease?

  /// Extends `lease` to `now + duration` while its holder still holds it; `nil` when the lease
  /// was lost (it expired and another instance claimed it, or it was released).
  func renew(_ lease: JobLease, for duration: Duration, now: Date) async throws -> JobLease?

  /// Gives the lease back, if its holder still holds it; a lost lease is left alone.
  func release(_ lease: JobLease) async throws

  /// The lease on `target` now, expired or not, or `nil`: for operators and tests.
  func lease(on target: LeaseTarget) async throws -> JobLease?

  /// Whether several instances may use this catalog at once, and so share each job's chunks
  /// (`claimChunk`, `finishChunk`). A catalog only one instance uses runs every chunk of a job
  /// where the job runs and records no chunk.
  var sharesWork: Bool { get }

  /// Claims chunk `index` of the job for `holder` until `now + duration`, as `claim` does, but
  /// only while the job is `InProgress` and the chunk is not finished, in one step.
  func claimChunk(
    _ index: Int,
    jobID: String,
    tenantID: String,
    holder: String,
    for duration: Duration,
    now: Date
  ) async throws -> ChunkClaim

  /// Records the lease's chunk finished by its holder, with what it counted, and gives the lease
  /// back, in one transaction. A chunk already recorded keeps its first record.
  func finishChunk(_ lease: JobLease, counts: ChunkTally) async throws

  /// The job's finished chunks, in index order.
  func finishedChunks(jobID: String, tenantID: String) async throws -> [FinishedChunk]

  /// The job's chunk leases that have not expired by `now`.
  func chunkLeases(jobID: String, tenantID: String, now: Date) async throws -> [JobLease]

  /// The `InProgress` jobs, those of the tenants running the fewest chunks across all instances
  /// (unexpired chunk leases at `now`) first, then oldest first: the order in which an instance
  /// with room joins jobs, so that tenants take turns across instances.
  func jobsToShare(now: Date) async throws -> [Job]
}

/// What `JobCatalog.claimChunk` found.
package enum ChunkClaim: Hashable, Sendable {
  /// The chunk is the holder's until the lease expires.
  case granted(JobLease)
  /// Another instance's lease on it has not expired.
  case heldElsewhere
  /// It was finished (by any instance).
  case finished
  /// The job is no longer `InProgress` (aborted, failed or gone): no chunk of it starts.
  case jobStopped
}

/// What a finished chunk counted: as the engine's progress counts it.
package struct ChunkTally: Hashable, Sendable {
  /// Records handled: applied or failed.
  package var processed: Int64
  package var failed: Int64
  /// Records seen, unprocessed ones included.
  package var total: Int64
  /// Whether the chunk was applied, rather than left unprocessed.
  package var completed: Bool

  package init(processed: Int64, failed: Int64, total: Int64, completed: Bool) {
    self.processed = processed
    self.failed = failed
    self.total = total
    self.completed = completed
  }
}

/// A chunk an instance finished: which, by whom, when, and its counts.
package struct FinishedChunk: Hashable, Sendable {
  package var index: Int
  /// The instance that ran it.
  package var holder: String
  package var tally: ChunkTally
  package var finishedAt: Date

  package init(index: Int, holder: String, tally: ChunkTally, finishedAt: Date) {
    self.index = index
    self.holder = holder
    self.tally = tally
    self.finishedAt = finishedAt
  }
}

/// What a lease is taken on: a whole job (its runner, its resumption, its reaping), one chunk
/// of it (for instances that share a job's chunks), or the reaper (one instance at a time
/// enforces the lifetime limits).
package enum LeaseTarget: Hashable, Sendable {
  case job(id: String, tenantID: String)
  case chunk(jobID: String, tenantID: String, index: Int)
  case reaper

  /// The job the target belongs to; empty for the reaper.
  package var jobID: String {
    switch self {
    case .job(let id, _): id
    case .chunk(let jobID, _, _): jobID
    case .reaper: ""
    }
  }

  /// The tenant of the job; empty for the reaper.
  package var tenantID: String {
    switch self {
    case .job(_, let tenantID): tenantID
    case .chunk(_, let tenantID, _): tenantID
    case .reaper: ""
    }
  }

  /// The lease table's key: tenant, job, and chunk (-1 for a whole job, -2 for the reaper).
  package var key: (tenantID: String, jobID: String, chunk: Int) {
    switch self {
    case .job(let id, let tenantID): (tenantID, id, -1)
    case .chunk(let jobID, let tenantID, let index): (tenantID, jobID, index)
    case .reaper: ("", "", -2)
    }
  }
}

/// One instance's claim on a job or a chunk, until `expiresAt` unless renewed.
package struct JobLease: Hashable, Sendable {
  package var target: LeaseTarget
  /// The instance that holds it (`JobEngine`'s instance id).
  package var holder: String
  package var expiresAt: Date

  package init(target: LeaseTarget, holder: String, expiresAt: Date) {
    self.target = target
    self.holder = holder
    self.expiresAt = expiresAt
  }
}

/// A client's `request_id` with a digest of the request it came with.
package struct IdempotencyKey: Hashable, Sendable {
  package var requestID: String
  /// Identifies the request body, so a reuse with another body can be told apart.
  package var fingerprint: String

  package init(requestID: String, fingerprint: String) {
    self.requestID = requestID
    self.fingerprint = fingerprint
  }
}

/// What `JobCatalog.insert` did.
package enum JobInsertOutcome: Hashable, Sendable {
  /// The job was stored.
  case inserted(Job)
  /// The tenant had used the request id already: the job it created then, and that request's fingerprint.
  case existing(Job, fingerprint: String)
  /// The tenant has as many unfinished jobs as allowed.
  case activeJobLimitReached
}

/// One page of a job listing.
package struct JobPage: Hashable, Sendable {
  package var jobs: [Job]
  /// Where the next page starts; `nil` after the last page.
  package var nextCursor: Int64?

  package init(jobs: [Job], nextCursor: Int64?) {
    self.jobs = jobs
    self.nextCursor = nextCursor
  }
}
