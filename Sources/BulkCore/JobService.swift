package import Foundation
package import Logging

/// The rules of the job API, shared by every transport.
///
/// gRPC and REST map their requests to these calls and their errors from `BulkError`; neither
/// talks to a store directly, so a rule lives here once.
package struct JobService: Sendable {
  private let catalog: any JobCatalog
  private let limits: Limits
  private let now: @Sendable () -> Date
  private let logger: Logger

  package init(
    catalog: any JobCatalog,
    limits: Limits = Limits(),
    logger: Logger,
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    self.catalog = catalog
    self.limits = limits
    self.logger = logger
    self.now = now
  }

  /// Creates an `Open` job. A retry with the same `requestID` returns the job created first.
  package func createJob(_ spec: JobSpec, requestID: String, tenant: Tenant) async throws(BulkError) -> Job {
    let job = try spec.validated(id: Job.makeID(), tenantID: tenant.id, now: self.now())
    let fingerprint = JobSpec.fingerprint(of: job)
    if requestID.utf8.count > 256 {
      throw .invalidArgument("request_id is longer than 256 bytes")
    }
    let key = requestID.isEmpty ? nil : IdempotencyKey(requestID: requestID, fingerprint: fingerprint)
    let outcome = try await self.catalogCall {
      try await self.catalog.insert(job, idempotencyKey: key, activeJobLimit: self.limits.maxActiveJobsPerTenant)
    }
    switch outcome {
    case .inserted(let job):
      self.logger.info(
        "job created",
        metadata: ["tenant_id": "\(tenant.id)", "job_id": "\(job.id)", "operation": "\(job.operation.rawValue)"]
      )
      return job
    case .existing(let existing, let storedFingerprint):
      guard storedFingerprint == fingerprint else {
        throw BulkError(
          code: .alreadyExists,
          message: "request_id '\(requestID)' was already used for job \(existing.id) with a different request"
        )
      }
      return existing
    case .activeJobLimitReached:
      throw BulkError(
        code: .resourceExhausted,
        message:
          "tenant has \(self.limits.maxActiveJobsPerTenant) unfinished jobs, the most allowed; close, abort or wait for some"
      )
    }
  }

  /// The tenant's job, or `NOT_FOUND`.
  package func job(id: String, tenant: Tenant) async throws(BulkError) -> Job {
    try Self.checkJobID(id)
    let job = try await self.catalogCall { try await self.catalog.job(id: id, tenantID: tenant.id) }
    guard let job else { throw .jobNotFound(id) }
    return job
  }

  /// One page of the tenant's jobs, newest first, and the token of the next page ("" at the end).
  package func listJobs(
    tenant: Tenant,
    state: JobState?,
    limit: Int,
    pageToken: String
  ) async throws(BulkError) -> (jobs: [Job], nextPageToken: String) {
    guard limit >= 0 else { throw .invalidArgument("limit must not be negative") }
    let pageSize = limit == 0 ? self.limits.defaultPageSize : min(limit, self.limits.maxPageSize)
    let cursor = try PageToken.decode(pageToken)
    let page = try await self.catalogCall {
      try await self.catalog.jobs(tenantID: tenant.id, state: state, limit: pageSize, after: cursor)
    }
    return (page.jobs, page.nextCursor.map(PageToken.encode) ?? "")
  }

  /// Moves the job to `state` (`UploadComplete` or `Aborted`) as the state machine allows.
  package func updateState(id: String, to state: JobState, tenant: Tenant) async throws(BulkError) -> Job {
    try Self.checkJobID(id)
    let now = self.now()
    let job = try await self.catalogCall {
      try await self.catalog.update(id: id, tenantID: tenant.id) { (job: inout Job) throws(BulkError) in
        var machine = Job.StateMachine(state: job.state)
        switch machine.request(state) {
        case .transition(_, let next):
          job.state = next
          job.updatedAt = now
        case .none:
          break
        case .refuse(let reason):
          throw .failedPrecondition(reason)
        }
      }
    }
    self.logger.info(
      "job state requested",
      metadata: ["tenant_id": "\(tenant.id)", "job_id": "\(id)", "state": "\(job.state.rawValue)"]
    )
    return job
  }

  /// Deletes a terminal job; a running one is `FAILED_PRECONDITION`.
  package func deleteJob(id: String, tenant: Tenant) async throws(BulkError) {
    try Self.checkJobID(id)
    try await self.catalogCall {
      try await self.catalog.delete(id: id, tenantID: tenant.id) { (job: Job) throws(BulkError) in
        guard job.state.isTerminal else {
          throw .failedPrecondition("job is \(job.state.rawValue); only a finished job can be deleted, abort it first")
        }
      }
    }
    self.logger.info("job deleted", metadata: ["tenant_id": "\(tenant.id)", "job_id": "\(id)"])
  }

  private static func checkJobID(_ id: String) throws(BulkError) {
    guard !id.isEmpty else { throw .invalidArgument("job_id is required") }
  }

  /// Runs a catalog call, passing `BulkError`s through and turning anything else into
  /// `UNAVAILABLE` (logged with its cause, which the client does not see).
  private func catalogCall<T>(_ body: () async throws -> T) async throws(BulkError) -> T {
    do {
      return try await body()
    } catch let error as BulkError {
      throw error
    } catch {
      self.logger.error("job catalog call failed", metadata: ["error": "\(error)"])
      throw BulkError(code: .unavailable, message: "the job catalog is unavailable; retry later")
    }
  }
}

/// The opaque page token of a job listing.
package enum PageToken {
  private static let prefix = "jobs.v1:"

  package static func encode(_ cursor: Int64) -> String {
    Data((prefix + String(cursor)).utf8).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// The cursor in a token; `nil` for the empty token (the first page).
  package static func decode(_ token: String) throws(BulkError) -> Int64? {
    guard !token.isEmpty else { return nil }
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
      text.hasPrefix(prefix), let cursor = Int64(text.dropFirst(prefix.count)), cursor > 0
    else {
      throw .invalidArgument("page_token is not a token this server issued")
    }
    return cursor
  }
}
