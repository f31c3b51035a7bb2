package import BulkCore
internal import BulkFormats
internal import Foundation
package import Logging
internal import NIOCore
internal import Synchronization

/// The chunked executor: runs closed jobs on a bounded worker pool shared by all jobs, resumes
/// unfinished jobs after a restart, enforces the job lifetime limits, and serves results.
///
/// `run()` is a long-running service: it resumes what a previous process left `UploadComplete`
/// or `InProgress`, then reaps expired jobs until it is cancelled.
///
/// It leads only jobs it holds the catalog's lease on (`JobCatalog.claim`, as `instanceID`): a
/// runner claims its job first and releases it when done; a heartbeat (every third of
/// `leaseDuration`) renews the leases of the jobs and chunks running here and adopts the jobs
/// whose leader died. With a shared catalog every instance also helps run the chunks of the jobs
/// others lead (`ChunkShare`), and one instance at a time, holding the reaper's lease, enforces
/// the lifetime limits.
package final class JobEngine: JobProcessor {
  private let context: EngineContext
  private let running = Mutex<[String: Runner]>([:])
  /// Jobs other instances lead that a helper here ran through to the end of their upload.
  private let helped = Mutex<Set<String>>([])
  /// This instance, as the holder of the leases it takes.
  package let instanceID: String
  /// The parent of every runner: a task group fed by `launches`, started with the engine and
  /// awaited by `run()` at shutdown, so that no runner outlives it.
  private let supervisor: Task<Void, Never>
  private let launches: AsyncStream<@Sendable () async -> Void>.Continuation
  /// When the chunks being applied at shutdown must have finished; set by `stopStartingChunks`.
  private let drainDeadline = Mutex<ContinuousClock.Instant?>(nil)

  /// - Parameters:
  ///   - staging: the uploads; results are kept in its storage and counted by its ledger.
  ///   - tenant: the tenant of an id, for its warehouse schema.
  ///   - resultWriteCheck: runs before each result file is written (tests fail some).
  ///   - instanceID: the holder name of this instance's leases; unique per process by default.
  package init(
    catalog: any JobCatalog,
    warehouse: any Warehouse,
    staging: SpooledStagingStore,
    events: any JobEvents,
    limits: Limits,
    settings: EngineSettings,
    logger: Logger,
    tenant: @escaping @Sendable (String) -> Tenant,
    resultWriteCheck: ResultWriteCheck = .none,
    instanceID: String = UUID().uuidString
  ) {
    self.instanceID = instanceID
    let (runners, launches) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
    self.launches = launches
    self.supervisor = Task {
      await withDiscardingTaskGroup { group in
        for await runner in runners {
          group.addTask { await runner() }
        }
      }
    }
    self.context = EngineContext(
      catalog: catalog,
      warehouse: warehouse,
      staging: staging,
      storage: staging.storage,
      results: ResultStore(storage: staging.storage, ledger: staging.ledger, writeCheck: resultWriteCheck),
      scheduler: ChunkScheduler(
        workers: settings.workers,
        budget: settings.effectiveChunkBudget,
        queries: settings.effectiveMaxQueries,
        tenantQueries: settings.maxTenantQueries
      ),
      transitions: JobTransitions(catalog: catalog, events: events),
      limits: limits,
      settings: settings,
      logger: logger,
      tenant: tenant,
      instanceID: instanceID
    )
  }

  deinit {
    self.launches.finish()
  }

  /// Counts what every job keeps in storage (its staged upload and its results) into the storage
  /// ledger, so the tenants' quotas hold across restarts. Call once at start, before the surfaces
  /// take uploads.
  package func measureStorage() async throws {
    let jobs = try await self.context.catalog.jobs(states: Set(JobState.allCases), createdBefore: nil)
    try self.context.staging.ledger.load(jobs: jobs, storage: self.context.storage)
  }

  /// Resumes unfinished jobs, and settles aborted ones whose runner stopped before it had; then
  /// enforces the lifetime limits every `reapInterval` until cancelled.
  ///
  /// Cancelled, it stops like `stopStartingChunks` and waits until the warehouse calls under
  /// way have finished (a chunk commits whole or not at all), or until the drain deadline (10 s
  /// when `stopStartingChunks` gave none). Then it cancels the runners, which return at once
  /// from the gate, and returns when every runner has (unless a call outlived the deadline:
  /// the process's end cuts it). Jobs stopped this way stay `InProgress`, neither failed nor given results for chunks
  /// that never ran, and the next start resumes them.
  package func run() async throws {
    // A job aborted while its runner was settling it (or before one started) is settled now.
    let unsettled = try await self.context.catalog.jobs(states: [.aborted], createdBefore: nil).filter {
      $0.operation != .query && !self.context.results.isSettled(jobID: $0.id)
    }
    for job in unsettled {
      self.context.logger.info("resuming job", metadata: ["job_id": "\(job.id)", "tenant_id": "\(job.tenantID)"])
      self.launch(job)
    }
    // The heartbeat: leases renewed and work looked for every third of a lease; the lifetime
    // limits enforced every `reapInterval`, by one instance at a time.
    let settings = self.context.settings
    var lastReap: ContinuousClock.Instant?
    while !Task.isCancelled {
      await self.renewLeases()
      await self.adoptUnfinished()
      await self.countJobs()
      if lastReap.map({ ContinuousClock.now - $0 >= settings.reapInterval }) ?? true {
        lastReap = .now
        if await self.holdsReaper() { await self.reap() }
      }
      try? await Task.sleep(for: min(settings.reapInterval, settings.heartbeatInterval))
    }
    self.context.gate.close()
    let deadline = self.drainDeadline.withLock { $0 } ?? .now.advanced(by: .seconds(10))
    await self.context.gate.drained(before: deadline)
    let left = self.running.withLock { $0.keys.sorted() }
    if !left.isEmpty {
      self.context.logger.notice(
        "jobs left for the next start",
        metadata: ["jobs": "\(left.joined(separator: ","))", "calls_cut": "\(self.context.gate.inside)"]
      )
    }
    self.launches.finish()
    self.supervisor.cancel()
    // The runners now end at once: each is held at the closed gate (and throws), or stores what
    // its last call returned. Only a warehouse call still under way at the deadline, which does
    // not heed cancellation, is left to the process's end, as a crash would cut it.
    if self.context.gate.inside == 0 {
      await self.supervisor.value
    }
  }

  /// Graceful shutdown begins: no chunk (no warehouse call) starts from now on; the runners
  /// wait at that point until `run()` cancels them. The chunks being applied should finish by
  /// `deadline`, when `run()` stops the runners and returns.
  package func stopStartingChunks(drainUntil deadline: ContinuousClock.Instant) {
    self.drainDeadline.withLock { $0 = $0 ?? deadline }
    self.context.gate.close()
  }

  package func start(_ job: Job) async {
    self.launch(job)
  }

  /// Stops the job's runner from starting chunks; a job aborted before its runner started gets
  /// one, which lists every record of its upload as unprocessed.
  package func abort(_ job: Job) async {
    let entry = self.running.withLock { $0[job.id] }
    guard let entry else {
      if job.operation != .query { self.launch(job) }
      return
    }
    entry.signal.abort()
  }

  package func remove(_ job: Job) async throws {
    try self.context.results.remove(jobID: job.id)
    try await self.context.warehouse.removeLedger(jobID: job.id, tenant: self.context.tenant(job.tenantID))
  }

  package func results(
    of given: Job,
    set: ResultSet,
    locator: String,
    maxRecords: Int64,
    emit: @Sendable (ResultPiece) async throws -> Void
  ) async throws -> String {
    // An aborted job is terminal before its runner has settled its records: its results are
    // served once they are all in place, with the chunk count they were settled with. One whose
    // runner stopped before it had (the process ended) is settled first.
    if given.state == .aborted && given.operation != .query && !self.context.results.isSettled(jobID: given.id) {
      self.launch(given)
    }
    let job: Job
    // A completed job stored all its results before it became `JobComplete`: the end of its
    // runner (the lease given back) is not waited for. Any other may still be settling them.
    if given.state != .jobComplete, self.running.withLock({ $0[given.id] != nil }) {
      await self.waitUntilIdle(jobID: given.id)
      job = try await self.context.catalog.job(id: given.id, tenantID: given.tenantID) ?? given
    } else {
      job = given
    }
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
      guard let rows = FieldValue.rows(inFrames: piece.data) else {
        throw BulkError(code: .internal, message: "a result file of typed rows is damaged")
      }
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

  /// The server-wide budget now, for tests: parsed chunks alive, the most alive at once since
  /// the start, and jobs waiting for a slot.
  package func budget() async -> (parsed: Int, mostParsed: Int, waiting: Int) {
    let parsed = self.context.scheduler.parsed.counts
    return (parsed.now, parsed.most, await self.context.scheduler.waitingForBudget)
  }

  /// Query jobs running and waiting for their turn, for tests.
  package func queries() async -> (running: Int, waiting: Int) {
    await self.context.scheduler.queryCounts
  }

  /// Waits until the job's runner has finished (for tests and shutdown).
  package func waitUntilIdle(jobID: String) async {
    let done = self.running.withLock { $0[jobID]?.done }
    await done?.wait()
  }

  /// How long a lease lasts unless renewed; the heartbeat renews it every third of it.
  private var leaseDuration: Duration { self.context.settings.leaseDuration }

  /// Claims `target` for this instance; `nil` when another instance holds it.
  private func claim(_ target: LeaseTarget) async throws -> JobLease? {
    let lease = try await self.context.catalog.claim(
      target,
      holder: self.instanceID,
      for: self.leaseDuration,
      now: Date()
    )
    if lease == nil {
      self.context.logger.info(
        "job held by another instance",
        metadata: ["job_id": "\(target.jobID)", "tenant_id": "\(target.tenantID)"]
      )
    }
    return lease
  }

  /// Gives the lease back; a failure is only logged, since the lease expires anyway.
  private func release(_ lease: JobLease) async {
    do {
      try await self.context.catalog.release(lease)
    } catch {
      self.context.logger.warning(
        "a job's lease could not be released",
        metadata: ["job_id": "\(lease.target.jobID)", "error": "\(error)"]
      )
    }
  }

  /// Whether this instance enforces the lifetime limits now: it holds the reaper's lease, which
  /// outlasts two reaper passes, so one instance at a time reaps.
  private func holdsReaper() async -> Bool {
    let settings = self.context.settings
    do {
      let duration = max(settings.reapInterval * 2, settings.leaseDuration)
      return try await self.context.catalog.claim(.reaper, holder: self.instanceID, for: duration, now: Date()) != nil
    } catch {
      self.context.logger.warning("the reaper's lease could not be claimed", metadata: ["error": "\(error)"])
      return false
    }
  }

  /// Extends the leases of the jobs and chunks running here: the heartbeat that keeps them this
  /// instance's.
  private func renewLeases() async {
    for lease in self.context.chunkLeases.all {
      if let renewal = await self.renew(lease, what: "chunk") {
        self.context.chunkLeases.renewed(lease, to: renewal)
      }
    }
    for lease in self.running.withLock({ $0.values.compactMap(\.lease) }) {
      if let renewal = await self.renew(lease, what: "job") {
        self.running.withLock { running in
          if running[lease.target.jobID]?.lease != nil { running[lease.target.jobID]?.lease = renewal }
        }
      }
    }
  }

  /// Renews `lease`: the renewed lease, `.some(nil)` when it was lost (logged), or `nil` when the
  /// catalog could not be asked (logged; the lease is kept and renewed next time).
  private func renew(_ lease: JobLease, what: String) async -> JobLease?? {
    let metadata: Logger.Metadata = ["job_id": "\(lease.target.jobID)", "lease": "\(what) \(lease.target.key.chunk)"]
    do {
      let renewed = try await self.context.catalog.renew(lease, for: self.leaseDuration, now: Date())
      if renewed == nil {
        self.context.logger.warning("a running \(what)'s lease was lost", metadata: metadata)
      }
      return .some(renewed)
    } catch {
      self.context.logger.warning(
        "a running \(what)'s lease could not be renewed",
        metadata: metadata.merging(["error": "\(error)"]) { first, _ in first }
      )
      return nil
    }
  }

  /// Starts the job's runner here, unless one runs already: as its leader (after claiming the
  /// job's lease), or as a helper running the chunks no instance has claimed.
  private func launch(_ job: Job, role: JobRunner.Role = .lead) {
    let signal = AbortSignal()
    let runner = JobRunner(
      context: self.context,
      jobID: job.id,
      tenant: self.context.tenant(job.tenantID),
      cancellation: signal
    )
    let done = RunnerDone()
    let added = self.running.withLock { running in
      guard running[job.id] == nil else { return false }
      running[job.id] = Runner(signal: signal, done: done)
      return true
    }
    guard added else { return }
    let queued = self.launches.yield {
      switch role {
      case .lead:
        if let lease = await self.claimForRunner(job) {
          self.running.withLock { $0[job.id]?.lease = lease }
          // Another instance may have finished the job between the listing and the claim.
          if await self.stillToRun(job) { await runner.run() }
          await self.release(lease)
        }
      case .help:
        await runner.help()
        self.helped.withLock { _ = $0.insert(job.id) }
      }
      self.ended(jobID: job.id)
    }
    if case .terminated = queued {
      // The engine has stopped: the job is left for the next start.
      self.ended(jobID: job.id)
    }
  }

  /// The job's runner is done: it is forgotten and its waiters resume.
  private func ended(jobID: String) {
    self.running.withLock { $0.removeValue(forKey: jobID) }?.done.finish()
  }

  /// Whether the stored job still needs a runner: not finished, or aborted and not yet settled.
  private func stillToRun(_ job: Job) async -> Bool {
    guard let stored = try? await self.context.catalog.job(id: job.id, tenantID: job.tenantID) else { return false }
    switch stored.state {
    case .uploadComplete, .inProgress: return true
    case .aborted: return stored.operation != .query && !self.context.results.isSettled(jobID: stored.id)
    case .open, .jobComplete, .failed: return false
    }
  }

  /// The job's lease for its runner, or `nil` when another instance holds it or the catalog
  /// cannot be reached (logged; the job stays where it is and resumes after a restart).
  private func claimForRunner(_ job: Job) async -> JobLease? {
    do {
      return try await self.claim(.job(id: job.id, tenantID: job.tenantID))
    } catch {
      self.context.logger.error(
        "job could not be run",
        metadata: ["job_id": "\(job.id)", "tenant_id": "\(job.tenantID)", "error": "\(error)"]
      )
      return nil
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

  /// Runs the unfinished jobs no instance holds: at start, the jobs this instance left; later,
  /// the jobs of an instance that died (its leases expired), which resume from the warehouse's
  /// ledger. A job another instance holds is left to it.
  ///
  /// With a shared catalog it also joins the jobs other instances lead, to run the chunks no
  /// instance has claimed; the jobs of the tenants running the fewest chunks across all instances
  /// come first (`JobCatalog.jobsToShare`), so tenants take turns across instances. A job this
  /// instance helped through to the end of its upload is not joined again.
  private func adoptUnfinished() async {
    let catalog = self.context.catalog
    do {
      let now = Date()
      let unfinished =
        catalog.sharesWork
        ? try await catalog.jobs(states: [.uploadComplete], createdBefore: nil) + catalog.jobsToShare(now: now)
        : try await catalog.jobs(states: [.uploadComplete, .inProgress], createdBefore: nil)
      let inProgress = Set(unfinished.lazy.filter { $0.state == .inProgress }.map(\.id))
      self.helped.withLock { $0.formIntersection(inProgress) }
      for job in unfinished where !self.running.withLock({ $0[job.id] != nil }) {
        // A catalog only this instance uses holds no live lease of another: any other holder is
        // a process that ended (the data directory's lock keeps a second one out).
        if catalog.sharesWork, let lease = try await catalog.lease(on: .job(id: job.id, tenantID: job.tenantID)),
          lease.holder != self.instanceID, lease.expiresAt > now
        {
          if job.state == .inProgress && job.operation != .query
            && !self.helped.withLock({ $0.contains(job.id) })
          {
            self.launch(job, role: .help)
          }
          continue
        }
        self.context.logger.info("resuming job", metadata: ["job_id": "\(job.id)", "tenant_id": "\(job.tenantID)"])
        self.launch(job)
      }
    } catch {
      self.context.logger.error("unfinished jobs could not be listed", metadata: ["error": "\(error)"])
    }
  }

  /// Sets the jobs-by-state gauge from the catalog: on every instance, each heartbeat, so that
  /// any instance's `/metrics` shows the whole catalog's counts.
  private func countJobs() async {
    do {
      EngineMetrics.jobs(try await self.context.catalog.countsByState())
    } catch {
      self.context.logger.warning("jobs could not be counted", metadata: ["error": "\(error)"])
    }
  }

  /// Fails jobs past their lifetime and deletes terminal jobs past their retention.
  private func reap() async {
    let now = Date()
    do {
      let maxAge = self.context.settings.maxJobAge.inSeconds
      let expired = try await self.context.catalog.jobs(
        states: [.open, .uploadComplete, .inProgress],
        createdBefore: now.addingTimeInterval(-maxAge)
      )
      for job in expired {
        // A job running here is already this instance's; any other is claimed first.
        let runsHere = self.running.withLock { running in
          running[job.id]?.signal.abort()
          return running[job.id] != nil
        }
        let lease = runsHere ? nil : try await self.claim(.job(id: job.id, tenantID: job.tenantID))
        guard runsHere || lease != nil else { continue }
        try await self.context.transitions.apply(.fail, jobID: job.id, tenantID: job.tenantID, at: Date()) {
          (stored: inout Job, action: Job.StateMachine.Action) throws(BulkError) in
          if case .transition = action {
            stored.errorMessage =
              "the job was not finished within its lifetime, \(Self.spelled(maxAge)) after its creation (--job-lifetime)"
          }
        }
        if job.state == .open {
          // Nothing will read an upload that was never closed: free its space now.
          try await self.context.staging.remove(jobID: job.id)
        }
        if let lease {
          await self.release(lease)
        }
        self.context.logger.notice("job expired", metadata: ["job_id": "\(job.id)", "tenant_id": "\(job.tenantID)"])
      }
      let retention = self.context.settings.retention.inSeconds
      let old = try await self.context.catalog.jobs(
        states: [.jobComplete, .failed, .aborted],
        createdBefore: now.addingTimeInterval(-retention)
      )
      for job in old where job.updatedAt < now.addingTimeInterval(-retention) {
        // Deleting the row gives the lease back too.
        guard try await self.claim(.job(id: job.id, tenantID: job.tenantID)) != nil else { continue }
        // Data first, then the row: a job that clients no longer see has no data left, and a
        // crash in between leaves a row that the next pass deletes again, never data that no
        // row points to.
        try await self.context.staging.remove(jobID: job.id)
        try await self.remove(job)
        try await self.context.catalog.delete(id: job.id, tenantID: job.tenantID) { (_: Job) throws(BulkError) in }
        self.context.logger.notice("job past retention deleted", metadata: ["job_id": "\(job.id)"])
      }
    } catch {
      self.context.logger.error("lifetime limits could not be enforced", metadata: ["error": "\(error)"])
    }
  }
}

/// A job's runner on this instance.
private struct Runner: Sendable {
  let signal: AbortSignal
  /// Finished when the runner has returned.
  let done: RunnerDone
  /// The job's lease, once the runner has claimed it.
  var lease: JobLease?
}

/// Tells its waiters when a runner has returned.
private final class RunnerDone: Sendable {
  private let state = Mutex<(finished: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

  /// Returns once `finish()` was called.
  func wait() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let finished = self.state.withLock { state in
        if !state.finished { state.waiters.append(continuation) }
        return state.finished
      }
      if finished { continuation.resume() }
    }
  }

  func finish() {
    let waiters = self.state.withLock { state in
      state.finished = true
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters {
      waiter.resume()
    }
  }
}
