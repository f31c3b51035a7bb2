internal import BulkCore
internal import Foundation

extension JobRunner {
  /// Runs a query job, in its turn under the scheduler's query limits: its statement on the
  /// warehouse, its rows into the `query` result set as they are read, `number_records_processed`
  /// kept current as chunks are written.
  ///
  /// A run after a restart starts over: the statement only reads, so running it again is safe,
  /// and what an earlier run wrote is removed first.
  func export(_ job: Job) async -> Outcome {
    var outcome = Outcome()
    let settings = self.context.settings
    let (progress, continuation) = AsyncStream<QueryResultCollector.Totals>.makeStream(
      bufferingPolicy: .bufferingNewest(1)
    )
    let collector = QueryResultCollector(
      job: job,
      results: self.context.results,
      chunkBytes: settings.chunkBytes,
      maxBytes: self.context.limits.maxQueryResultBytes,
      progress: continuation
    )
    async let reported: Void = {
      for await totals in progress {
        try? await self.report(Self.progress(totals))
      }
    }()
    let cancellation = self.cancellation.query
    let request = QueryRequest(
      jobID: job.id,
      sql: job.query,
      output: job.contentType == .csv ? .csv(delimiter: job.columnDelimiter.asciiValue ?? UInt8(ascii: ",")) : .values,
      timeout: settings.queryTimeout,
      cancellation: cancellation,
      wholeTable: job.query == JobSpec.wholeObjectQuery(job.object) ? job.object : nil
    )
    do {
      // Query jobs take turns under their own limits, apart from the chunk workers.
      try await self.context.scheduler.runQuery(tenant: self.tenant.id) {
        // Aborted while it waited for its turn: nothing to run.
        guard !self.cancellation.isAborted else {
          collector.abandon()
          return
        }
        try await withThrowingTaskGroup(of: Void.self) { deadline in
          deadline.addTask {
            try await Task.sleep(for: settings.queryTimeout + settings.queryDeadlineGrace)
            cancellation.cancel(.deadline)
          }
          defer { deadline.cancelAll() }
          try await self.runQuery(job, request: request, collector: collector)
        }
      }
    } catch {
      collector.abandon()
      if !self.cancellation.isAborted {
        outcome.failure = JobFailure(Self.describe(error))
      }
    }
    continuation.finish()
    await reported
    let totals = collector.totals
    EngineMetrics.recordsProcessed(totals.rows, operation: .query)
    outcome.progress = Self.progress(totals)
    outcome.chunks = totals.chunks
    return outcome
  }

  /// Runs the query job's statement into `collector`, once its table is known to exist.
  private func runQuery(_ job: Job, request: QueryRequest, collector: QueryResultCollector) async throws {
    let table = try await self.context.retryingWarehouse("describe", jobID: job.id) {
      try await self.context.warehouse.describe(table: job.object, tenant: self.tenant)
    }
    guard table != nil else { throw JobFailure("table \(job.object) does not exist") }
    _ = try await self.context.retryingWarehouse("query", jobID: job.id) {
      try collector.reset()
      return try await self.context.warehouse.export(request, tenant: self.tenant, into: collector)
    }
    _ = try collector.finish()
  }

  private static func progress(_ totals: QueryResultCollector.Totals) -> Progress {
    Progress(
      processed: totals.rows,
      failed: 0,
      total: totals.rows,
      chunksCompleted: totals.chunks,
      chunksSeen: totals.chunks
    )
  }
}
