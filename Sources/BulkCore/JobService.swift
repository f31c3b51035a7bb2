package import Foundation
package import Logging

/// The rules of the job API, shared by every transport.
///
/// gRPC and REST map their requests to these calls and their errors from `BulkError`; neither
/// talks to a store directly, so a rule lives here once.
package struct JobService: Sendable {
  private let catalog: any JobCatalog
  private let staging: any StagingStore
  private let processor: any JobProcessor
  private let events: any JobEvents
  private let transitions: JobTransitions
  private let limits: Limits
  private let pageTokens: PageToken
  private let now: @Sendable () -> Date
  private let logger: Logger

  package init(
    catalog: any JobCatalog,
    staging: any StagingStore,
    processor: any JobProcessor,
    events: any JobEvents,
    limits: Limits = Limits(),
    pageTokens: PageToken = PageToken(),
    logger: Logger,
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    self.catalog = catalog
    self.staging = staging
    self.processor = processor
    self.events = events
    self.transitions = JobTransitions(catalog: catalog, events: events)
    self.limits = limits
    self.pageTokens = pageTokens
    self.logger = logger
    self.now = now
  }

  /// Creates an `Open` job. A retry with the same `requestID` returns the job created first.
  package func createJob(_ spec: JobSpec, requestID: String, tenant: Tenant) async throws(BulkError) -> Job {
    let queryBytes = spec.query.utf8.count
    guard queryBytes <= self.limits.maxQueryBytes else {
      throw .requestTooLarge(
        "query is \(queryBytes) bytes, over the limit of \(self.limits.maxQueryBytes) bytes (--max-query-bytes)"
      )
    }
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
        metadata: [
          "tenant_id": "\(tenant.id)", "job_id": "\(job.id)", "operation": "\(job.operation.rawValue)",
          "request_id": "\(requestID)",
        ]
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
  ///
  /// - Parameter pageTokenField: the name of the request field that carries `pageToken`.
  package func listJobs(
    tenant: Tenant,
    state: JobState?,
    limit: Int,
    pageToken: String,
    pageTokenField: String = "page_token"
  ) async throws(BulkError) -> (jobs: [Job], nextPageToken: String) {
    guard limit >= 0 else { throw .invalidArgument("limit must not be negative") }
    let pageSize = limit == 0 ? self.limits.defaultPageSize : min(limit, self.limits.maxPageSize)
    let cursor = try self.pageTokens.decode(pageToken, tenantID: tenant.id, field: pageTokenField)
    let page = try await self.catalogCall {
      try await self.catalog.jobs(tenantID: tenant.id, state: state, limit: pageSize, after: cursor)
    }
    guard let next = page.nextCursor else { return (page.jobs, "") }
    return (page.jobs, try self.pageTokens.encode(next, tenantID: tenant.id))
  }

  /// Moves the job to `state` (`UploadComplete` or `Aborted`) as the state machine allows.
  ///
  /// Leaving `Open` first seals the job's upload, so the `bytes_uploaded` stored with the new
  /// state is final and no append can land after it.
  package func updateState(id: String, to state: JobState, tenant: Tenant) async throws(BulkError) -> Job {
    let current = try await self.job(id: id, tenant: tenant)
    let sealed: UploadProgress? =
      current.state == .open && (state == .uploadComplete || state == .aborted)
      ? try await self.stagingCall { try await self.staging.seal(current) }
      : nil
    let job = try await self.catalogCall {
      try await self.transitions.apply(.request(state), jobID: id, tenantID: tenant.id, at: self.now()) {
        (job: inout Job, action: Job.StateMachine.Action) throws(BulkError) in
        switch action {
        case .transition(let previous, _):
          if previous == .open, let sealed {
            job.bytesUploaded = sealed.bytesUploaded
            job.numberRecordsTotal = sealed.recordsReceived
          }
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
    if job.state != current.state {
      switch job.state {
      case .uploadComplete: await self.processor.start(job)
      case .aborted: await self.processor.abort(job)
      case .open, .inProgress, .jobComplete, .failed: break
      }
    }
    return job
  }

  /// Subscribes to the job's changes and reads it; `JobWatch.run` then streams the job now and
  /// after every change, at most about four times a second, until it is terminal, or until the
  /// server stops (`JobEvents.stop()`): the stream then ends before a terminal state, and
  /// `JobEvents.isStopped` tells why.
  package func watch(id: String, tenant: Tenant) async throws(BulkError) -> JobWatch {
    guard !self.events.isStopped else {
      throw BulkError(code: .unavailable, message: Self.stoppingMessage(jobID: id))
    }
    // Subscribe before reading, so no change between the read and the subscription is missed.
    let changes = self.events.subscribe(jobID: id, tenantID: tenant.id)
    let first = try await self.job(id: id, tenant: tenant)
    return JobWatch(first: first, changes: changes)
  }

  /// Why a watch of `jobID` ended before the job did: the server is stopping.
  package static func stoppingMessage(jobID: String) -> String {
    "the server is stopping: watch job \(jobID) again on another instance, or on this one once it is back"
  }

  /// Streams one result set of the tenant's terminal job (see `JobProcessor.results`).
  package func results(
    id: String,
    tenant: Tenant,
    set requested: ResultSet?,
    locator: String,
    maxRecords: Int64,
    emit: @Sendable (ResultPiece) async throws -> Void
  ) async throws -> String {
    let job = try await self.job(id: id, tenant: tenant)
    guard job.state.isTerminal else {
      throw BulkError.failedPrecondition(
        "job is \(job.state.rawValue); results are available once it is JobComplete, Failed or Aborted"
      )
    }
    guard maxRecords >= 0 else { throw BulkError.invalidArgument("max_records must not be negative") }
    let set = requested ?? (job.operation == .query ? .query : .successful)
    switch (job.operation, set) {
    case (.query, .query), (.insert, .successful), (.insert, .failed), (.insert, .unprocessed),
      (.update, .successful), (.update, .failed), (.update, .unprocessed), (.upsert, .successful),
      (.upsert, .failed), (.upsert, .unprocessed), (.delete, .successful), (.delete, .failed),
      (.delete, .unprocessed):
      break
    case (.query, _):
      throw BulkError.invalidArgument("a query job has only the query result set")
    case (_, .query):
      throw BulkError.invalidArgument(
        "the query result set belongs to query jobs; use successful, failed or unprocessed"
      )
    }
    return try await self.processor.results(of: job, set: set, locator: locator, maxRecords: maxRecords, emit: emit)
  }

  /// Stores an upload stream's pieces in the job's staging area and reports what is durable.
  ///
  /// The first piece names the job, which must be `Open`. Every `Limits.uploadSyncInterval`
  /// bytes, and at the end, the stored data is made durable and `bytes_uploaded` updated. When a
  /// piece is refused, what was stored before it is still made durable before the error is thrown.
  package func upload<Pieces: AsyncSequence<UploadPiece, any Error>>(
    tenant: Tenant,
    pieces: Pieces
  ) async throws -> UploadReceipt {
    var job: Job?
    var unsynced: Int64 = 0
    var index = 0
    do {
      for try await piece in pieces {
        let target = try await self.uploadTarget(of: piece, index: index, stream: job, tenant: tenant)
        job = target
        index += 1
        guard let payload = piece.payload else { continue }
        try Self.checkPayload(payload, for: target, index: index - 1)
        let outcome = try await self.stagingCall {
          try await self.staging.append(payload, at: piece.offset, to: target)
        }
        unsynced += payload.length - outcome.skipped
        if unsynced >= self.limits.uploadSyncInterval {
          try await self.recordUpload(of: target)
          unsynced = 0
        }
      }
    } catch {
      if let job {
        // Keep bytes_uploaded true for the client that resumes after this error.
        _ = try? await self.recordUpload(of: job)
      }
      throw error
    }
    guard let job else {
      throw BulkError.invalidArgument("the upload stream was empty: send job_id in the first message")
    }
    let progress = try await self.recordUpload(of: job)
    return UploadReceipt(jobID: job.id, progress: progress)
  }

  /// The job an upload message goes to: the one named by the first message, which must be `Open`.
  private func uploadTarget(
    of piece: UploadPiece,
    index: Int,
    stream: Job?,
    tenant: Tenant
  ) async throws(BulkError)
    -> Job
  {
    if let stream {
      guard piece.jobID.isEmpty || piece.jobID == stream.id else {
        throw .invalidArgument("message \(index) names job '\(piece.jobID)'; this stream uploads to \(stream.id)")
      }
      return stream
    }
    guard !piece.jobID.isEmpty else { throw .invalidArgument("job_id is required in the first message") }
    let job = try await self.job(id: piece.jobID, tenant: tenant)
    guard job.state == .open else {
      throw .failedPrecondition("job is \(job.state.rawValue); uploads are accepted only while it is Open")
    }
    return job
  }

  private static func checkPayload(_ payload: UploadPayload, for job: Job, index: Int) throws(BulkError) {
    switch (payload, job.contentType) {
    case (.bytes, .recordBatch):
      throw .invalidArgument("message \(index) carries data; a RECORD_BATCH job takes records")
    case (.records, .csv), (.records, .json):
      throw .invalidArgument("message \(index) carries records; a \(job.contentType.rawValue) job takes data")
    case (.bytes, _), (.records, _):
      break
    }
    guard job.operation.isIngest else {
      throw .failedPrecondition("query jobs take no upload")
    }
  }

  /// Makes the job's upload durable and stores its size in the catalog while the job is `Open`.
  @discardableResult
  private func recordUpload(of job: Job) async throws(BulkError) -> UploadProgress {
    let progress = try await self.stagingCall { try await self.staging.sync(job) }
    let now = self.now()
    _ = try await self.catalogCall {
      try await self.transitions.update(jobID: job.id, tenantID: job.tenantID) { (stored: inout Job) throws(BulkError) in
        if stored.state == .open && stored.bytesUploaded != progress.bytesUploaded {
          stored.bytesUploaded = progress.bytesUploaded
          stored.updatedAt = now
        }
      }
    }
    return progress
  }

  /// Deletes a terminal job with its staged upload, results and ledger rows; a running one is
  /// `FAILED_PRECONDITION`.
  package func deleteJob(id: String, tenant: Tenant) async throws(BulkError) {
    let job = try await self.job(id: id, tenant: tenant)
    try await self.catalogCall {
      try await self.catalog.delete(id: id, tenantID: tenant.id) { (job: Job) throws(BulkError) in
        guard job.state.isTerminal else {
          throw .failedPrecondition("job is \(job.state.rawValue); only a finished job can be deleted, abort it first")
        }
      }
    }
    do {
      try await self.staging.remove(jobID: id)
      try await self.processor.remove(job)
    } catch {
      // The job is gone for clients; what is left on disk is logged for the operator.
      self.logger.error(
        "data of a deleted job could not be removed",
        metadata: ["job_id": "\(id)", "error": "\(error)"]
      )
    }
    self.logger.info("job deleted", metadata: ["tenant_id": "\(tenant.id)", "job_id": "\(id)"])
  }

  private static func checkJobID(_ id: String) throws(BulkError) {
    guard !id.isEmpty else { throw .invalidArgument("job_id is required") }
  }

  /// Runs a staging call, passing `BulkError`s through and turning anything else (a full disk, an
  /// I/O error) into `UNAVAILABLE` with it as the cause, which the edge logs.
  private func stagingCall<T>(_ body: () async throws -> T) async throws(BulkError) -> T {
    do {
      return try await body()
    } catch let error as BulkError {
      throw error
    } catch {
      throw BulkError(
        code: .unavailable,
        message: "the upload could not be stored; retry from bytes_uploaded",
        cause: error
      )
    }
  }

  /// Runs a catalog call, passing `BulkError`s through and turning anything else into
  /// `UNAVAILABLE` with it as the cause, which the edge logs and the client does not see.
  private func catalogCall<T>(_ body: () async throws -> T) async throws(BulkError) -> T {
    do {
      return try await body()
    } catch let error as BulkError {
      throw error
    } catch {
      throw BulkError(code: .unavailable, message: "the job catalog is unavailable; retry later", cause: error)
    }
  }
}
