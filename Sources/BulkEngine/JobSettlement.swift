internal import BulkCore
internal import Foundation

/// Settles a job's accounting once its run has stopped, whatever stopped it: every chunk of the
/// upload is cut again, and each gets a result file that agrees with the warehouse's ledger.
///
/// - A chunk the ledger has is processed: its file must hold its records as successful or
///   failed, and is written again from the ledger's outcomes when it is missing or holds
///   anything else (its write failed after the commit, or a stopped run listed it unprocessed).
/// - A chunk the ledger does not have is unprocessed: its file lists every record of it.
///
/// The presence of a file never decides anything while the ledger can be read; only when the
/// warehouse stays unreachable are the files trusted, since a file of outcomes is only written
/// after its chunk committed. The totals are counted from the chunks, so `number_records_*`
/// agree with the warehouse and successful + failed + unprocessed is every record of the upload.
struct JobSettlement {
  let context: EngineContext
  let job: Job
  let tenant: Tenant

  /// The job's totals after settling, and the first problem that kept a chunk out of the result
  /// sets (its file could not be written, or the upload could not be read to its end).
  struct Settled {
    var progress = Progress()
    var chunks = 0
    var failure: JobFailure?
  }

  /// - Parameters:
  ///   - parser / plan: the run's, when it got that far; made here when a chunk needs them.
  func settle(reader: UploadReader, parser: ChunkParser?, plan: JobPlan?) async -> Settled {
    let ledger = try? await self.context.retryingWarehouse("ledger", jobID: self.job.id) {
      try await self.context.warehouse.ledger(jobID: self.job.id, tenant: self.tenant)
    }
    var settled = Settled()
    var parser = parser
    var plan = plan
    do {
      try await reader.forEachChunk { columns, chunk in
        settled.chunks = chunk.index + 1
        settled.progress.chunksSeen = settled.chunks
        let count = chunk.payload.recordCount
        let stored = self.context.results.recordCounts(jobID: self.job.id, chunk: chunk.index)
        let applied = if let ledger { ledger[chunk.index] } else { Self.outcomesOnFile(stored, records: count) }
        settled.progress.total += Int64(count)
        do {
          if let applied {
            settled.progress.chunksCompleted += 1
            settled.progress.processed += Int64(count)
            if let stored, Self.agrees(stored, with: applied, records: count) {
              settled.progress.failed += Int64(stored[.failed] ?? 0)
              return
            }
            let current = try self.parser(parser, columns: columns, chunk: chunk)
            parser = current
            let currentPlan = try await self.plan(plan, columns: current.columns)
            plan = currentPlan
            let records = current.parse(chunk)
            let outcomes = try Self.outcomes(of: records, plan: currentPlan, applied: applied, chunk: chunk.index)
            settled.progress.failed += Int64(outcomes.count { !$0.succeeded })
            try await self.writer(current, chunk).write(chunk: chunk.index, records: records, outcomes: outcomes)
          } else {
            if let stored, stored[.unprocessed] == count, stored[.successful] == 0, stored[.failed] == 0 { return }
            let current = try self.parser(parser, columns: columns, chunk: chunk)
            parser = current
            try await self.writer(current, chunk).write(chunk: chunk.index, unprocessed: current.parse(chunk))
          }
        } catch {
          if settled.failure == nil {
            settled.failure = JobFailure(
              "the results of chunk \(chunk.index) could not be written: \(JobRunner.describe(error))"
            )
          }
        }
      }
    } catch {
      if settled.failure == nil {
        settled.failure = (error as? JobFailure) ?? JobFailure(JobRunner.describe(error))
      }
    }
    return settled
  }

  /// Without a ledger: the outcomes a chunk's file shows it committed with (it holds every record
  /// as successful or failed), or `nil` when it shows none.
  private static func outcomesOnFile(_ stored: [ResultSet: Int]?, records: Int) -> [RecordOutcome]? {
    guard let stored, stored[.unprocessed] == 0, (stored[.successful] ?? 0) + (stored[.failed] ?? 0) == records
    else { return nil }
    return Array(repeating: .succeeded(created: true), count: stored[.successful] ?? 0)
  }

  /// Whether a chunk's file holds its committed records: each as successful or failed, as many
  /// successful ones as the ledger has.
  private static func agrees(_ stored: [ResultSet: Int], with applied: [RecordOutcome], records: Int) -> Bool {
    let successful = stored[.successful] ?? 0
    return stored[.unprocessed] == 0 && successful + (stored[.failed] ?? 0) == records
      && successful == applied.count { $0.succeeded }
  }

  /// Every record's outcome: the ledger's for those that reached the warehouse, the coercion
  /// failure for the others (checked again with the plan, as the chunk was).
  static func outcomes(
    of records: [ParsedRecord],
    plan: JobPlan,
    applied: [RecordOutcome],
    chunk: Int
  ) throws(JobFailure) -> [RecordOutcome] {
    var outcomes: [RecordOutcome] = []
    outcomes.reserveCapacity(records.count)
    var next = applied.startIndex
    for index in records.indices {
      switch plan.coerce(records[index].values) {
      case .success:
        outcomes.append(
          next < applied.endIndex ? applied[next] : .failed(code: "DATABASE_ERROR", message: "no outcome")
        )
        next += 1
      case .failure(let failure):
        outcomes.append(failure.outcome)
      }
    }
    guard next == applied.count else {
      throw JobFailure(
        "chunk \(chunk) has \(next) records the warehouse applied but its ledger holds \(applied.count) outcomes"
      )
    }
    return outcomes
  }

  /// The run's parser, or one made from the first chunk (writing the result columns with it).
  private func parser(_ parser: ChunkParser?, columns: UploadReader.Columns, chunk: UploadChunk) throws -> ChunkParser {
    if let parser { return parser }
    let made = try ChunkParser(job: self.job, columns: columns, firstChunk: chunk, context: self.context)
    try self.context.results.writeColumns(made.columns, of: self.job, admission: .floorOnly)
    return made
  }

  /// The run's plan, or one made against the table as the warehouse describes it now.
  private func plan(_ plan: JobPlan?, columns: [String]) async throws -> JobPlan {
    if let plan { return plan }
    let described = try await self.context.retryingWarehouse("describe", jobID: self.job.id) {
      try await self.context.warehouse.describe(table: self.job.object, tenant: self.tenant)
    }
    guard let table = described else { throw JobFailure("table \(self.job.object) does not exist") }
    return try JobPlan(job: self.job, table: table, columns: columns)
  }

  private func writer(_ parser: ChunkParser, _ chunk: UploadChunk) -> ResultWriter {
    ResultWriter(job: self.job, columns: parser.columns, results: self.context.results, source: chunk.payload.text)
  }
}

extension UploadChunk.Payload {
  /// The number of records in the chunk.
  var recordCount: Int {
    switch self {
    case .text(_, let records, _): records
    case .frames(let frames): frames.count
    }
  }
}

extension RecordOutcome {
  /// Whether the record was applied.
  var succeeded: Bool {
    if case .succeeded = self { true } else { false }
  }
}
