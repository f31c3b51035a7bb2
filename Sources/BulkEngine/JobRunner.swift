internal import BulkCore
internal import Foundation
internal import Logging
internal import Synchronization

/// Runs one closed job to a terminal state: plans its columns against the table, cuts its upload
/// into chunks as the scheduler's server-wide budget admits them, has the scheduler apply each
/// chunk that the ledger does not have yet, writes each chunk's results, and keeps the job's
/// counters current. Then, in every ending, it settles the job (`JobSettlement`): each record of
/// the upload lands in exactly one result set, as the warehouse's ledger decides, and the final
/// counters are counted from the ledger.
///
/// Running again after a crash is safe: committed chunks are taken from the ledger, never
/// applied twice, and the counters are recomputed from the ledger.
struct JobRunner: Sendable {
  let context: EngineContext
  let jobID: String
  let tenant: Tenant
  let cancellation: AbortSignal

  /// What the runner does with its job.
  enum Role: Sendable {
    /// Runs the job to a terminal state, as the holder of its lease: starts it, cuts it, waits
    /// for the chunks other instances run, settles and finishes it.
    case lead
    /// Runs chunks of a job another instance leads (a shared catalog): claims what it cuts, and
    /// leaves the job's state and totals to the leader.
    case help
  }

  func run() async {
    let started = ContinuousClock.now
    var logger = self.context.logger
    logger[metadataKey: "job_id"] = "\(self.jobID)"
    logger[metadataKey: "tenant_id"] = "\(self.tenant.id)"
    do {
      let job = try await self.start()
      if job.state == .aborted {
        // Aborted before it started: nothing is applied, and its records are unprocessed.
        self.cancellation.abort()
      }
      let outcome =
        job.operation == .query ? await self.export(job) : await self.process(job, role: .lead, logger: logger)
      // Cancelled at shutdown: the job stays as it is (`InProgress`, or `Aborted` and not yet
      // settled), neither finished nor failed, and the next start resumes it. The progress of
      // its last chunks, left to the final state, is stored now.
      guard !Task.isCancelled else {
        if outcome.progressLeftToFinish {
          // In a task of its own: a catalog call of this cancelled one would give up at once.
          let progress = outcome.progress
          try await Task { try await self.report(progress) }.value
        }
        logger.notice("job left for the next start")
        return
      }
      let finished = try await self.finish(job, outcome: outcome, elapsed: ContinuousClock.now - started)
      // Only an aborted job is ever asked whether its runner settled it (an abort makes a job
      // terminal before its records are settled); a completed one stored every result first.
      if finished.state != .jobComplete {
        try self.context.results.markSettled(jobID: job.id)
      }
      logger.info(
        "job finished",
        metadata: [
          "records": "\(outcome.progress.processed)", "failed": "\(outcome.progress.failed)",
          "chunks": "\(outcome.chunks)", "error": "\(outcome.failure?.message ?? "")",
        ]
      )
    } catch {
      // The catalog is unreachable: the job stays where it is and resumes after a restart.
      logger.error("job could not be run", metadata: ["error": "\(error)"])
    }
  }

  /// Runs the chunks of the job, which another instance leads, that no instance has claimed;
  /// returns once it has cut the whole upload. A job-wide failure here fails the job, which
  /// its leader then settles.
  func help() async {
    var logger = self.context.logger
    logger[metadataKey: "job_id"] = "\(self.jobID)"
    logger[metadataKey: "tenant_id"] = "\(self.tenant.id)"
    do {
      guard let job = try await self.context.catalog.job(id: self.jobID, tenantID: self.tenant.id),
        job.state == .inProgress, job.chunkRecords > 0, job.operation != .query
      else { return }
      let outcome = await self.process(job, role: .help, logger: logger)
      guard let failure = outcome.failure, !Task.isCancelled else { return }
      try await self.context.transitions.apply(.fail, jobID: job.id, tenantID: job.tenantID, at: Date()) {
        (stored: inout Job, action: Job.StateMachine.Action) throws(BulkError) in
        if case .transition = action { stored.errorMessage = failure.message }
      }
      logger.error("a shared job failed here", metadata: ["error": "\(failure.message)"])
    } catch {
      logger.error("a shared job could not be helped", metadata: ["error": "\(error)"])
    }
  }

  /// Moves the job to `InProgress` (a no-op after a restart) and fixes its chunk size.
  private func start() async throws -> Job {
    let chunkRecords = Int32(clamping: self.context.settings.chunkRecords)
    return try await self.context.transitions.apply(
      .startProcessing,
      jobID: self.jobID,
      tenantID: self.tenant.id,
      at: Date()
    ) { (job: inout Job, _: Job.StateMachine.Action) throws(BulkError) in
      // A job aborted before its runner started stays Aborted (the state machine refuses).
      if job.chunkRecords == 0 {
        job.chunkRecords = chunkRecords
      }
    }
  }

  struct Outcome {
    var progress = Progress()
    var chunks = 0
    var failure: JobFailure?
    /// Whether the progress of the run's last chunks was left to the final state, and is not
    /// stored yet.
    var progressLeftToFinish = false
  }

  /// Processes every chunk; returns the totals and the job-wide failure, if any.
  ///
  /// With a shared catalog each chunk is claimed before it is run and recorded when finished;
  /// a chunk another instance holds is skipped. The leader then waits for those: it counts each
  /// as it is recorded, and runs again any whose instance died (its lease expired unfinished).
  private func process(_ job: Job, role: Role, logger: Logger) async -> Outcome {
    var outcome = Outcome()
    let tracker = ProgressTracker()
    let failure = FirstFailure()
    let share = self.context.catalog.sharesWork ? ChunkShare(context: self.context, job: job) : nil

    var plan: JobPlan?
    var parser: ChunkParser?
    let reader = UploadReader(
      job: job,
      storage: self.context.storage,
      limits: self.context.limits,
      chunkRecords: Int(job.chunkRecords),
      chunkBytes: self.context.settings.chunkBytes
    )
    do {
      let described = try await self.context.retryingWarehouse("describe", jobID: job.id) {
        try await self.context.warehouse.describe(table: job.object, tenant: self.tenant)
      }
      guard let table = described else {
        throw JobFailure("table \(job.object) does not exist")
      }
      let scheduler = self.context.scheduler
      let tenantID = self.tenant.id
      /// Cuts the upload and runs its chunks (those in `only`, when given); returns the chunks
      /// left to other instances.
      func pass(only: Set<Int>?) async throws -> Set<Int> {
        let committed = try await self.context.retryingWarehouse("ledger", jobID: job.id) {
          try await self.context.warehouse.ledger(jobID: job.id, tenant: self.tenant)
        }
        var elsewhere: Set<Int> = []
        let chunks = reader.chunks()
        try await withThrowingTaskGroup(of: Void.self) { group in
          // A chunk is cut only with a slot of the server-wide budget; the slot is given back once
          // its results are written. A job waiting for a slot holds only its place in the upload.
          while true {
            await scheduler.admit(tenant: tenantID)
            let next: (UploadReader.Columns, UploadChunk)?
            var lease: JobLease?
            var stop = false
            do {
              next = self.cancellation.isAborted || failure.value != nil || Task.isCancelled ? nil : try chunks.next()
              if let (columns, chunk) = next, parser == nil {
                let created = try ChunkParser(job: job, columns: columns, firstChunk: chunk, context: self.context)
                plan = try JobPlan(job: job, table: table, columns: created.columns)
                try self.context.results.writeColumns(created.columns, of: job)
                // Only a parser whose columns are written goes to the settlement, which writes
                // them itself otherwise.
                parser = created
              }
              if let (_, chunk) = next {
                outcome.chunks = chunk.index + 1
              }
              if let (_, chunk) = next, let share, only?.contains(chunk.index) ?? true {
                switch try await share.claim(chunk.index) {
                case .run(let granted):
                  lease = granted
                case .elsewhere:
                  elsewhere.insert(chunk.index)
                case .stop:
                  // Aborted or failed through another instance: start no chunk, and settle.
                  stop = true
                  if role == .lead { self.cancellation.abort() }
                }
              }
            } catch {
              await scheduler.release(tenant: tenantID)
              throw error
            }
            guard !stop, let (_, chunk) = next, let plan, let parser else {
              await scheduler.release(tenant: tenantID)
              // Alone on its catalog, the run stores its totals next, with its final state.
              if share == nil { tracker.cutToEnd() }
              break
            }
            // Shared, a chunk runs here only under this instance's lease.
            guard share == nil || lease != nil else {
              await scheduler.release(tenant: tenantID)
              continue
            }
            let cancellation = self.cancellation
            let work = ChunkTask(
              context: self.context,
              job: job,
              tenant: self.tenant,
              plan: plan,
              parser: parser,
              chunk: chunk,
              committed: committed[chunk.index],
              shouldStop: { cancellation.isAborted || failure.value != nil }
            )
            tracker.started()
            group.addTask { [lease] in
              let counts: ChunkTally?
              do {
                let ran = try await work.run()
                if let lease, let share { try await share.finish(lease, counts: ran) }
                counts = ran
              } catch {
                failure.record(error)
                counts = nil
              }
              await scheduler.release(tenant: tenantID)
              let more = tracker.finished(counts, chunk: chunk.index)
              guard counts != nil else {
                if let lease, let share { await share.abandon(lease) }
                return
              }
              guard role == .lead, more else { return }
              do {
                try await self.report(tracker.progress)
              } catch {
                failure.record(error)
              }
            }
          }
          try await group.waitForAll()
        }
        return elsewhere
      }
      let elsewhere = try await pass(only: nil)
      if role == .lead, let share {
        try await self.awaitShared(elsewhere, share: share, tracker: tracker, failure: failure) { orphaned in
          try await pass(only: orphaned)
        }
      }
    } catch {
      failure.record(error)
    }
    outcome.progressLeftToFinish = tracker.leftToFinish
    // A helper leaves the totals and the settlement to the leader.
    guard role == .lead else {
      outcome.failure = failure.value
      return outcome
    }
    // Stopped at shutdown: nothing is settled, so the next start resumes the job as a crash
    // leaves it, with the progress of the chunks that finished.
    guard !Task.isCancelled else {
      outcome.progress = tracker.progress
      return outcome
    }
    // A run that cut, applied and wrote every chunk has settled as it went: its totals are its
    // chunks' own, taken from the warehouse, and reading the upload again would only cost.
    if failure.value == nil && !self.cancellation.isAborted {
      outcome.progress = tracker.progress
      return outcome
    }
    // Whatever else stopped the run, every chunk of the upload gets results that agree with the
    // warehouse's ledger, and the totals are counted from them.
    let settled = await JobSettlement(context: self.context, job: job, tenant: self.tenant)
      .settle(reader: reader, parser: parser, plan: plan)
    if let problem = settled.failure {
      failure.record(problem)
      logger.error("a job's results could not be settled", metadata: ["error": "\(problem.message)"])
    }
    outcome.progress = settled.progress
    outcome.chunks = settled.chunks
    outcome.failure = failure.value
    return outcome
  }

  /// The leader's wait for the chunks it left to other instances: each is counted once it is
  /// recorded finished; one whose instance died (no unexpired lease, not finished) is run here by
  /// `rerun`, which returns those that another instance claimed first. When the job stops
  /// (aborted, failed), only the chunks still being applied elsewhere are waited for, so that the
  /// settlement sees their commits.
  private func awaitShared(
    _ elsewhere: Set<Int>,
    share: ChunkShare,
    tracker: ProgressTracker,
    failure: FirstFailure,
    rerun: (Set<Int>) async throws -> Set<Int>
  ) async throws {
    var pending = elsewhere
    while !Task.isCancelled {
      let finished = try await share.finished()
      let counted = pending.intersection(finished.keys)
      for index in counted.sorted() {
        if let counts = finished[index] { tracker.add(counts, chunk: index) }
      }
      pending.subtract(counted)
      if !counted.isEmpty {
        try await self.report(tracker.progress)
      }
      let running = try await share.runningElsewhere()
      let stopping = self.cancellation.isAborted || failure.value != nil
      if stopping ? running.isEmpty : pending.isEmpty { return }
      if !stopping {
        let stored = try await self.context.catalog.job(id: self.jobID, tenantID: self.tenant.id)
        if stored?.state != .inProgress {
          // Aborted, or failed by another instance: settle once their chunks are in.
          self.cancellation.abort()
          continue
        }
        let orphaned = pending.subtracting(running)
        if !orphaned.isEmpty {
          // Those run here were counted as they finished; the others are counted from the catalog.
          let claimedElsewhere = try await rerun(orphaned)
          pending = pending.subtracting(orphaned).union(claimedElsewhere.intersection(orphaned))
          continue
        }
      }
      try await Task.sleep(for: share.pollInterval)
    }
  }

  /// Stores the running totals.
  func report(_ progress: Progress) async throws {
    try await self.context.transitions.update(jobID: self.jobID, tenantID: self.tenant.id) {
      (job: inout Job) throws(BulkError) in
      job.numberRecordsProcessed = progress.processed
      job.numberRecordsFailed = progress.failed
      job.numberChunksCompleted = Int32(clamping: progress.chunksCompleted)
      job.numberChunks = max(job.numberChunks, Int32(clamping: progress.chunksSeen))
      job.numberRecordsTotal = max(job.numberRecordsTotal, progress.processed)
      job.updatedAt = Date()
    }
  }

  /// Stores the final state: `JobComplete`, or `Failed` with the reason; an aborted job stays
  /// `Aborted`. Returns the job as stored.
  private func finish(_ job: Job, outcome: Outcome, elapsed: Duration) async throws -> Job {
    let milliseconds = elapsed.inMilliseconds
    let event: Job.Event = outcome.failure == nil ? .complete : .fail
    return try await self.context.transitions.apply(event, jobID: job.id, tenantID: job.tenantID, at: Date()) {
      (stored: inout Job, action: Job.StateMachine.Action) throws(BulkError) in
      // Another runner (after a restart) may have completed the job. One the lifetime limit
      // failed, or a client aborted, still takes the counters its records were settled with.
      switch action {
      case .transition(_, let next):
        if next == .failed, let failure = outcome.failure {
          stored.errorMessage = failure.message
        }
      case .none, .refuse:
        guard stored.state != .jobComplete else { return }
      }
      stored.numberRecordsProcessed = outcome.progress.processed
      stored.numberRecordsFailed = outcome.progress.failed
      stored.numberRecordsTotal = outcome.progress.total
      stored.numberChunks = Int32(clamping: outcome.chunks)
      stored.numberChunksCompleted = Int32(clamping: outcome.progress.chunksCompleted)
      stored.totalProcessingTimeMs += milliseconds
      stored.updatedAt = Date()
    }
  }

  /// The job's `error_message` for what a run failed with: a `BulkError`'s message, written for
  /// the client; any other error is internal and describes itself (a `JobFailure` by its
  /// message, a warehouse's error by its code and message).
  static func describe(_ error: any Error) -> String {
    (error as? BulkError)?.message ?? "\(error)"
  }
}

/// Set when a job is aborted; its runner starts no new chunk after, and a running query is
/// cancelled.
final class AbortSignal: Sendable {
  private let aborted = Atomic(false)
  /// Cancels the job's running query, on abort or at its deadline.
  let query = QueryCancellation()

  var isAborted: Bool { self.aborted.load(ordering: .acquiring) }

  func abort() {
    self.aborted.store(true, ordering: .releasing)
    self.query.cancel(.aborted)
  }
}

/// The first job-wide failure of a run; later ones are consequences.
final class FirstFailure: Sendable {
  private let failure = Mutex<JobFailure?>(nil)

  var value: JobFailure? { self.failure.withLock { $0 } }

  func record(_ error: any Error) {
    let reason = (error as? JobFailure) ?? JobFailure(JobRunner.describe(error))
    self.failure.withLock { if $0 == nil { $0 = reason } }
  }
}

/// A job's totals so far.
struct Progress: Sendable {
  /// Records handled: applied or failed.
  var processed: Int64 = 0
  var failed: Int64 = 0
  /// Records seen, unprocessed ones included.
  var total: Int64 = 0
  var chunksCompleted = 0
  /// One more than the highest chunk index finished.
  var chunksSeen = 0
}

/// Adds up chunk counts as chunks finish, in any order. A lock rather than an actor: the run's
/// loop marks each chunk it starts without a suspension point, which would let later chunks
/// reach the warehouse before earlier ones.
final class ProgressTracker: Sendable {
  private struct State {
    var progress = Progress()
    /// Chunks started and not yet counted.
    var running = 0
    /// Whether no chunk will start after those running, and the job's final state comes next.
    var ending = false
    /// Whether `finished` answered that the progress was not worth storing.
    var leftToFinish = false
  }

  private let state = Mutex(State())

  var progress: Progress { self.state.withLock { $0.progress } }

  /// Whether `finished` answered that the progress was not worth storing.
  var leftToFinish: Bool { self.state.withLock { $0.leftToFinish } }

  func started() {
    self.state.withLock { $0.running += 1 }
  }

  /// No chunk starts after those running; the run stores its totals with the job's final state.
  func cutToEnd() {
    self.state.withLock { $0.ending = true }
  }

  /// Counts a chunk `started` here (`nil`: it failed); returns whether the progress is worth
  /// storing now: not after the last chunk of an ending run, whose totals the final state
  /// stores a moment later.
  func finished(_ counts: ChunkTally?, chunk: Int) -> Bool {
    self.state.withLock { state in
      state.running -= 1
      if let counts { Self.add(counts, chunk: chunk, to: &state.progress) }
      guard state.ending && state.running == 0 else { return true }
      state.leftToFinish = true
      return false
    }
  }

  func add(_ counts: ChunkTally, chunk: Int) {
    self.state.withLock { Self.add(counts, chunk: chunk, to: &$0.progress) }
  }

  private static func add(_ counts: ChunkTally, chunk: Int, to progress: inout Progress) {
    progress.processed += counts.processed
    progress.failed += counts.failed
    progress.total += counts.total
    if counts.completed {
      progress.chunksCompleted += 1
    }
    progress.chunksSeen = max(progress.chunksSeen, chunk + 1)
  }
}
