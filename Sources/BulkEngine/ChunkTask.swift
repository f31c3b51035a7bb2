internal import BulkCore
internal import Foundation
internal import Logging
internal import NIOCore

/// One chunk of a job: parse, check values, apply through the scheduler (unless the ledger has
/// it), write its results, and count. Its runner holds a slot of the scheduler's budget for it.
struct ChunkTask: Sendable {
  let context: EngineContext
  let job: Job
  let tenant: Tenant
  let plan: JobPlan
  let parser: ChunkParser
  let chunk: UploadChunk
  /// The ledger's outcomes when the chunk committed before a restart.
  let committed: [RecordOutcome]?
  /// Whether the job stopped (aborted or failed): the chunk is then left unprocessed.
  let shouldStop: @Sendable () -> Bool

  func run() async throws -> ChunkTally {
    if let tally = try await self.runAsUploaded() {
      return tally
    }
    let started = ContinuousClock.now
    let records = self.parser.parse(self.chunk)
    let gauge = self.context.scheduler.parsed
    gauge.enter()
    defer { gauge.leave() }
    let writer = ResultWriter(
      job: self.job,
      columns: self.parser.columns,
      results: self.context.results,
      source: self.chunk.payload.text,
      uploadOffset: self.uploadOffset
    )
    let alreadyWritten = self.context.results.hasChunk(jobID: self.job.id, chunk: self.chunk.index)

    var outcomes = [RecordOutcome?](repeating: nil, count: records.count)
    // The records to apply, and where each is among the chunk's.
    var prepared: [ChunkRecord] = []
    var positions: [Int] = []
    prepared.reserveCapacity(records.count)
    positions.reserveCapacity(records.count)
    // By index, and the plan called directly: a copy of a record or a partial application of the
    // plan's method would retain their contents once per record.
    for index in records.indices {
      switch self.plan.coerce(records[index].values) {
      case .success(let coerced):
        prepared.append(ChunkRecord(number: records[index].number, values: coerced))
        positions.append(index)
      case .failure(let failure):
        outcomes[index] = failure.outcome
      }
    }
    let work = self.work(records: prepared)

    // Room for the results is taken against the tenant's quota before the chunk is applied, and
    // given back when the results are written (held to the floor only): a chunk refused here is
    // left unprocessed, while one that committed always gets its results.
    let ledger = self.context.staging.ledger
    var room =
      self.committed == nil && !alreadyWritten ? ResultWriter.estimatedBytes(of: self.chunk, records: records.count) : 0
    try ledger.reserve(room, jobID: self.job.id, tenantID: self.job.tenantID, in: .results)
    defer { ledger.release(room, jobID: self.job.id, tenantID: self.job.tenantID, in: .results) }

    let applied: [RecordOutcome]
    if let committed {
      applied = committed
    } else {
      let result = try await self.context.scheduler.run(tenant: self.tenant.id) { () async throws -> [RecordOutcome]? in
        guard !self.shouldStop() else { return nil }
        return try await self.apply(work)
      }
      guard let result else {
        // Stopped by shutdown rather than by the job: the chunk stays unapplied and without
        // results, for the next start.
        if Task.isCancelled { throw ShutdownGate.Stopped() }
        if !alreadyWritten {
          try await writer.write(chunk: self.chunk.index, unprocessed: records)
        }
        return ChunkTally(processed: 0, failed: 0, total: Int64(records.count), completed: false)
      }
      applied = result
    }
    guard applied.count == prepared.count else {
      throw JobFailure(
        "chunk \(self.chunk.index) has \(prepared.count) records to apply but the warehouse reported \(applied.count) outcomes"
      )
    }
    for (outcome, index) in zip(applied, positions) {
      outcomes[index] = outcome
    }
    let final = outcomes.map { $0 ?? .failed(code: "DATABASE_ERROR", message: "no outcome") }
    if !alreadyWritten {
      ledger.release(room, jobID: self.job.id, tenantID: self.job.tenantID, in: .results)
      room = 0
      try await writer.write(chunk: self.chunk.index, records: records, outcomes: final)
    }
    let failed = final.reduce(into: Int64(0)) { count, outcome in
      if case .failed = outcome { count += 1 }
    }
    if self.committed == nil {
      EngineMetrics.recordsProcessed(Int64(records.count), operation: self.job.operation)
      EngineMetrics.recordsFailed(failed, operation: self.job.operation)
      EngineMetrics.chunkDuration(ContinuousClock.now - started)
    }
    return ChunkTally(processed: Int64(records.count), failed: failed, total: Int64(records.count), completed: true)
  }

  /// Runs a chunk whose records all pass the checks as uploaded, without making their values:
  /// the warehouse takes the CSV as it is (`Warehouse.loadsCSVAsUploaded`) and the results repeat
  /// each record's bytes (the successful ones by referring to the upload). Inserts and upserts
  /// only: their work's columns are the upload's, as the CSV has them, while an update's or a
  /// delete's records are needed for `NOT_FOUND`'s message. `nil` when the chunk takes the full
  /// way instead: a record needs the full parse, the database refused the CSV (nothing of it was
  /// applied), or the job stopped.
  private func runAsUploaded() async throws -> ChunkTally? {
    guard self.committed == nil, self.job.operation == .insert || self.job.operation == .upsert,
      self.context.warehouse.loadsCSVAsUploaded,
      !self.context.results.hasChunk(jobID: self.job.id, chunk: self.chunk.index),
      let plain = self.parser.plainCSV(self.chunk, plan: self.plan)
    else { return nil }
    let started = ContinuousClock.now
    let gauge = self.context.scheduler.parsed
    gauge.enter()
    defer { gauge.leave() }
    let count = plain.records.count
    let work = self.work(
      records: [],
      csv: CSVRecords(bytes: Array(plain.bytes.readableBytesView), delimiter: plain.delimiter, count: count)
    )
    let ledger = self.context.staging.ledger
    var room = ResultWriter.estimatedBytes(of: self.chunk, records: count)
    try ledger.reserve(room, jobID: self.job.id, tenantID: self.job.tenantID, in: .results)
    defer { ledger.release(room, jobID: self.job.id, tenantID: self.job.tenantID, in: .results) }
    let applied: [RecordOutcome]?
    do {
      applied = try await self.context.scheduler.run(tenant: self.tenant.id) { () async throws -> [RecordOutcome]? in
        guard !self.shouldStop() else { return nil }
        return try await self.apply(work)
      }
    } catch let refused as CSVRecordsRefused {
      self.context.logger.debug(
        "chunk loaded as values",
        metadata: ["job_id": "\(self.job.id)", "chunk": "\(self.chunk.index)", "reason": "\(refused)"]
      )
      return nil
    }
    guard let applied else { return nil }
    guard applied.count == count else {
      throw JobFailure(
        "chunk \(self.chunk.index) has \(count) records to apply but the warehouse reported \(applied.count) outcomes"
      )
    }
    ledger.release(room, jobID: self.job.id, tenantID: self.job.tenantID, in: .results)
    room = 0
    let writer = ResultWriter(
      job: self.job,
      columns: self.parser.columns,
      results: self.context.results,
      source: plain.bytes,
      uploadOffset: self.uploadOffset
    )
    try await writer.write(chunk: self.chunk.index, plain: plain, outcomes: applied)
    let failed = Int64(applied.count { if case .failed = $0 { true } else { false } })
    EngineMetrics.recordsProcessed(Int64(count), operation: self.job.operation)
    EngineMetrics.recordsFailed(failed, operation: self.job.operation)
    EngineMetrics.chunkDuration(ContinuousClock.now - started)
    return ChunkTally(processed: Int64(count), failed: failed, total: Int64(count), completed: true)
  }

  /// The chunk's work for the warehouse: its records as values, or as uploaded (`csv`).
  private func work(records: [ChunkRecord], csv: CSVRecords? = nil) -> ChunkWork {
    ChunkWork(
      jobID: self.job.id,
      chunk: self.chunk.index,
      operation: self.job.operation,
      table: self.plan.table,
      keyColumn: self.plan.keyColumn,
      columns: self.plan.appliedColumns,
      records: records,
      csv: csv
    )
  }

  /// Where the chunk starts in the stored upload, when that holds its bytes as sent: a CSV
  /// upload that is not gzip.
  private var uploadOffset: Int64? {
    guard self.job.contentType == .csv, self.job.compression != .gzip,
      case .text(_, _, let offset) = self.chunk.payload
    else { return nil }
    return offset
  }

  /// Applies the chunk, retrying with backoff while the warehouse is unreachable.
  private func apply(_ work: ChunkWork) async throws -> [RecordOutcome] {
    do {
      return try await self.context.retryingWarehouse("chunk \(work.chunk)", jobID: self.job.id) {
        try await self.context.warehouse.apply(work, tenant: self.tenant)
      }
    } catch let error as JobFailure {
      throw error
    } catch let error as CSVRecordsRefused {
      throw error
    } catch {
      throw JobFailure("chunk \(work.chunk) could not be applied: \(error)")
    }
  }
}
