package import BulkCore
internal import BulkFormats
package import Foundation
package import Logging
internal import NIOCore
internal import Synchronization

/// The chunked executor: runs closed jobs on a bounded worker pool shared by all jobs, resumes
/// unfinished jobs after a restart, enforces the job lifetime limits, and serves results.
///
/// `run()` is a long-running service: it resumes what a previous process left `UploadComplete`
/// or `InProgress`, then reaps expired jobs until it is cancelled.
package final class JobEngine: JobProcessor {
  private let context: EngineContext
  private let running = Mutex<[String: (signal: AbortSignal, task: Task<Void, Never>)]>([:])

  /// - Parameters:
  ///   - stagingDirectory / resultsDirectory: where uploads and results live.
  ///   - decodeRow: decodes one serialised record-batch row (the transport's encoding).
  ///   - tenant: the tenant of an id, for its warehouse schema.
  package init(
    catalog: any JobCatalog,
    warehouse: any Warehouse,
    staging: FileStagingStore,
    resultsDirectory: String,
    events: JobEvents,
    limits: Limits,
    settings: EngineSettings,
    logger: Logger,
    decodeRow: @escaping @Sendable (Data) throws -> [FieldValue],
    tenant: @escaping @Sendable (String) -> Tenant
  ) throws {
    self.context = EngineContext(
      catalog: catalog,
      warehouse: warehouse,
      staging: staging,
      results: try ResultStore(directory: resultsDirectory, ledger: staging.ledger),
      scheduler: ChunkScheduler(workers: settings.workers),
      events: events,
      limits: limits,
      settings: settings,
      logger: logger,
      decodeRow: decodeRow,
      tenant: tenant
    )
  }

  /// Counts what every job keeps on disk (its staged upload and its results) into the storage
  /// ledger, so the tenants' quotas hold across restarts. Call once at start, before the surfaces
  /// take uploads.
  package func measureStorage() async throws {
    let jobs = try await self.context.catalog.jobs(states: Set(JobState.allCases), createdBefore: nil)
    self.context.staging.ledger.load(
      jobs: jobs,
      staging: self.context.staging.folder(of:),
      results: self.context.results.folder(of:)
    )
  }

  /// Resumes unfinished jobs, then enforces the lifetime limits every `reapInterval` until
  /// cancelled; running jobs are cancelled with it.
  package func run() async throws {
    let unfinished = try await self.context.catalog.jobs(states: [.uploadComplete, .inProgress], createdBefore: nil)
    for job in unfinished {
      self.context.logger.info("resuming job", metadata: ["job_id": "\(job.id)", "tenant_id": "\(job.tenantID)"])
      self.launch(job)
    }
    while !Task.isCancelled {
      await self.reap()
      try? await Task.sleep(for: self.context.settings.reapInterval)
    }
    // Running chunks finish their transaction or roll back; what is left resumes after a restart.
    let tasks = self.running.withLock { $0.values.map(\.task) }
    for task in tasks {
      task.cancel()
    }
  }

  package func start(_ job: Job) async {
    self.launch(job)
  }

  package func abort(_ job: Job) async {
    let entry = self.running.withLock { $0[job.id] }
    entry?.signal.abort()
  }

  package func remove(_ job: Job) async throws {
    try self.context.results.remove(jobID: job.id)
    try await self.context.warehouse.removeLedger(jobID: job.id, tenant: self.context.tenant(job.tenantID))
  }

  package func results(
    of job: Job,
    set: ResultSet,
    locator: String,
    maxRecords: Int64,
    emit: @Sendable (ResultPiece) async throws -> Void
  ) async throws -> String {
    let columns = self.context.results.columns(jobID: job.id)
    let read = { (emit: @Sendable (ResultPiece) async throws -> Void) async throws -> String in
      try await self.context.results.read(
        jobID: job.id,
        chunks: Int(job.numberChunks),
        set: set,
        locator: locator,
        maxRecords: maxRecords,
        framing: ResultWriter.framing(job: job, set: set, columns: columns),
        emit: emit
      )
    }
    guard job.contentType == .recordBatch else { return try await read(emit) }
    // Typed rows for gRPC's RecordBatch, and the same rows as CSV for REST.
    let resultColumns = ResultWriter.leadingColumns(set) + columns
    let first = Atomic(true)
    return try await read { piece in
      let rows = try Self.rows(inFrames: piece.data)
      var csv = ByteBuffer()
      let writer = CSVWriter(delimiter: UInt8(ascii: ","))
      if first.exchange(false, ordering: .relaxed) {
        writer.write(resultColumns, into: &csv)
      }
      for row in rows {
        writer.write(row.map(\.csvText), into: &csv)
      }
      try await emit(
        ResultPiece(
          data: Data(csv.readableBytesView),
          recordCount: piece.recordCount,
          columns: resultColumns,
          rows: rows
        )
      )
    }
  }

  /// The rows of length-delimited `FieldValue.encodeRow` frames.
  private static func rows(inFrames data: Data) throws -> [[FieldValue]] {
    var rows: [[FieldValue]] = []
    var index = data.startIndex
    while index + 4 <= data.endIndex {
      let length = data[index ..< index + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
      index += 4
      guard index + length <= data.endIndex, let row = FieldValue.decodeRow(data[index ..< index + length]) else {
        throw BulkError(code: .internal, message: "a result file of typed rows is damaged")
      }
      rows.append(row)
      index += length
    }
    return rows
  }

  /// Waits until the job's runner has finished (for tests and shutdown).
  package func waitUntilIdle(jobID: String) async {
    let task = self.running.withLock { $0[jobID]?.task }
    await task?.value
  }

  private func launch(_ job: Job) {
    let signal = AbortSignal()
    let runner = JobRunner(
      context: self.context,
      jobID: job.id,
      tenant: self.context.tenant(job.tenantID),
      cancellation: signal
    )
    self.running.withLock { running in
      guard running[job.id] == nil else { return }
      let task = Task {
        await runner.run()
        _ = self.running.withLock { $0.removeValue(forKey: job.id) }
      }
      running[job.id] = (signal, task)
    }
  }

  /// `seconds` as operators write it: `24h`, `7d`, `90s`.
  private static func spelled(_ seconds: Double) -> String {
    let whole = Int64(seconds.rounded())
    for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60)] where whole >= size && whole % size == 0 {
      return "\(whole / size)\(unit)"
    }
    return "\(whole)s"
  }

  /// Fails jobs past their lifetime and deletes terminal jobs past their retention.
  private func reap() async {
    let now = Date()
    do {
      EngineMetrics.jobs(try await self.context.catalog.countsByState())
      let maxAge = self.context.settings.maxJobAge.inSeconds
      let expired = try await self.context.catalog.jobs(
        states: [.open, .uploadComplete, .inProgress],
        createdBefore: now.addingTimeInterval(-maxAge)
      )
      for job in expired {
        self.running.withLock { $0[job.id]?.signal.abort() }
        try await self.context.update(jobID: job.id, tenantID: job.tenantID) { (stored: inout Job) throws(BulkError) in
          var machine = Job.StateMachine(state: stored.state)
          if case .transition(_, let next) = machine.fail() {
            stored.state = next
            stored.errorMessage =
              "the job was not finished within its lifetime, \(Self.spelled(maxAge)) after its creation (--job-lifetime)"
            stored.updatedAt = Date()
          }
        }
        if job.state == .open {
          // Nothing will read an upload that was never closed: free its space now.
          try await self.context.staging.remove(jobID: job.id)
        }
        self.context.logger.notice("job expired", metadata: ["job_id": "\(job.id)", "tenant_id": "\(job.tenantID)"])
      }
      let retention = self.context.settings.retention.inSeconds
      let old = try await self.context.catalog.jobs(
        states: [.jobComplete, .failed, .aborted],
        createdBefore: now.addingTimeInterval(-retention)
      )
      for job in old where job.updatedAt < now.addingTimeInterval(-retention) {
        try await self.context.catalog.delete(id: job.id, tenantID: job.tenantID) { (_: Job) throws(BulkError) in }
        try await self.context.staging.remove(jobID: job.id)
        try await self.remove(job)
        self.context.logger.notice("job past retention deleted", metadata: ["job_id": "\(job.id)"])
      }
    } catch {
      self.context.logger.error("lifetime limits could not be enforced", metadata: ["error": "\(error)"])
    }
  }
}
