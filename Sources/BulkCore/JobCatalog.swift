package import Foundation

/// Durable storage of jobs, scoped by tenant.
///
/// Implementations run each method as one atomic step: `update` and `delete` read, check and
/// write in a single transaction, so two concurrent calls never both act on the same old state.
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
