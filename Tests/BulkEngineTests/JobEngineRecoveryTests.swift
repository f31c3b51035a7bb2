import BulkCore
import BulkEngine
import BulkTestSupport
import Foundation
import Synchronization
import Testing

@Suite("JobEngine: abort, restart, lifetime")
struct JobEngineRecoveryTests {
  static let table = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
  static let csv = "id,name\n" + (1 ... 10).map { "\($0),item \($0)" }.joined(separator: "\n") + "\n"

  static func settings() -> EngineSettings {
    var settings = EngineSettings(workers: 1)
    settings.chunkRecords = 2
    settings.retryDelay = .milliseconds(1)
    settings.warehouseAttempts = 3
    return settings
  }

  @Test("abort while InProgress: the running chunk finishes, the rest is unprocessed")
  func abort() async throws {
    try await withTemporaryDirectory { directory in
      let gate = Mutex<GatedWarehouse?>(nil)
      let harness = try EngineHarness(directory: directory, settings: Self.settings()) { base in
        let gated = GatedWarehouse(base, gatedFrom: 2)
        gate.withLock { $0 = gated }
        return gated
      }
      let gated = try #require(gate.withLock { $0 })
      try harness.sql(Self.table)
      let job = try await harness.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv.utf8))])
      var arrivals = gated.arrived.makeAsyncIterator()
      // With one worker, chunks 2 and 3 race for it: the first at the gate runs, the other waits.
      let running = try #require(await arrivals.next())
      #expect(running == 2 || running == 3)
      let aborted = try await harness.service.updateState(id: job.id, to: .aborted, tenant: harness.tenant)
      #expect(aborted.state == .aborted)
      gated.open()
      await harness.engine.waitUntilIdle(jobID: job.id)
      let final = try await harness.service.job(id: job.id, tenant: harness.tenant)
      #expect(final.state == .aborted)
      #expect(final.numberRecordsProcessed == 6)
      #expect(final.numberRecordsTotal == 10)
      #expect(try harness.rows("SELECT count(*) FROM items") == [["6"]])
      let unprocessed = try await harness.results(final, .unprocessed)
      #expect(unprocessed.records == 4)
      let left = (5 ... 10).filter { ($0 - 1) / 2 != running }
      #expect(unprocessed.text == "_record,id,name\n" + left.map { "\($0),\($0),item \($0)\n" }.joined())
      #expect(try await harness.results(final, .successful).records == 6)
      #expect(try harness.staging.storage.list(jobID: job.id, area: .results).map(\.key.name).contains("settled"))
    }
  }

  @Test("only a job that did not complete is marked settled: a completed one stored its results first")
  func settledMarker() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql(Self.table)
      let job = try await harness.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv.utf8))])
      await harness.engine.waitUntilIdle(jobID: job.id)
      let final = try await harness.service.job(id: job.id, tenant: harness.tenant)
      #expect(final.state == .jobComplete)
      let names = try harness.staging.storage.list(jobID: job.id, area: .results).map(\.key.name)
      #expect(names.contains("columns.json"))
      #expect(!names.contains("settled"))
      #expect(try await harness.results(final, .successful).records == 10)
    }
  }

  @Test("a restarted engine resumes an InProgress job and applies every record exactly once")
  func resume() async throws {
    try await withTemporaryDirectory { directory in
      let gate = Mutex<GatedWarehouse?>(nil)
      let first = try EngineHarness(directory: directory, settings: Self.settings()) { base in
        let gated = GatedWarehouse(base, gatedFrom: 3)
        gate.withLock { $0 = gated }
        return gated
      }
      let gated = try #require(gate.withLock { $0 })
      try first.sql(Self.table)
      let job = try await first.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv.utf8))])
      var arrivals = gated.arrived.makeAsyncIterator()
      // With one worker, chunks 3 and 4 race for it: the first at the gate holds it.
      let held = await arrivals.next()
      #expect(held == 3 || held == 4)
      // The first process stops here, chunks 0-2 committed. A second one starts on the same data.
      let second = try EngineHarness(directory: directory, settings: Self.settings())
      let engine = Task { try await second.engine.run() }
      let resumed = try await second.finished(try await second.service.job(id: job.id, tenant: second.tenant))
      #expect(resumed.state == .jobComplete)
      #expect(resumed.numberRecordsProcessed == 10)
      #expect(resumed.numberRecordsFailed == 0)
      // The first process's held chunk now reaches the warehouse too: the ledger refuses to apply it twice.
      gated.open()
      await first.engine.waitUntilIdle(jobID: job.id)
      engine.cancel()
      #expect(try second.rows("SELECT count(*), count(DISTINCT id) FROM items") == [["10", "10"]])
      let after = try await second.service.job(id: job.id, tenant: second.tenant)
      #expect(after.state == .jobComplete)
      #expect(try await second.results(after, .successful).records == 10)
    }
  }

  @Test("an unreachable warehouse is retried; past the limit the job fails and the rest is unprocessed")
  func warehouseDown() async throws {
    try await withTemporaryDirectory { directory in
      let gate = Mutex<GatedWarehouse?>(nil)
      let harness = try EngineHarness(directory: directory, settings: Self.settings()) { base in
        let gated = GatedWarehouse(base, gatedFrom: 1)
        gate.withLock { $0 = gated }
        return gated
      }
      let gated = try #require(gate.withLock { $0 })
      try harness.sql(Self.table)
      gated.fail(with: WarehouseDown())
      let job = try await harness.finished(
        try await harness.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv.utf8))])
      )
      #expect(job.state == .failed)
      #expect(job.errorMessage.contains("unreachable after 3 attempts"))
      // With one worker, chunk 0 (which passes) may reach it before or after the first failing
      // chunk, which fails the job: what was applied is in the table, the rest is unprocessed.
      #expect(job.numberRecordsProcessed == 0 || job.numberRecordsProcessed == 2)
      #expect(try harness.rows("SELECT count(*) FROM items") == [["\(job.numberRecordsProcessed)"]])
      #expect(try await harness.results(job, .unprocessed).records == 10 - Int(job.numberRecordsProcessed))
    }
  }

  @Test("a job not finished within its lifetime fails")
  func lifetime() async throws {
    try await withTemporaryDirectory { directory in
      var settings = Self.settings()
      settings.maxJobAge = .milliseconds(1)
      settings.reapInterval = .milliseconds(20)
      let harness = try EngineHarness(directory: directory, settings: settings)
      let job = try await harness.service.createJob(
        JobSpec(operation: .insert, object: "items"),
        requestID: "",
        tenant: harness.tenant
      )
      let stream = AsyncThrowingStream<UploadPiece, any Error> { continuation in
        continuation.yield(UploadPiece(jobID: job.id, offset: 0, payload: .bytes(Data("id,name\n1,a\n".utf8))))
        continuation.finish()
      }
      _ = try await harness.service.upload(tenant: harness.tenant, pieces: stream)
      #expect(try !harness.staging.storage.list(jobID: job.id, area: .upload).isEmpty)
      let engine = Task { try await harness.engine.run() }
      let final = try await harness.finished(job)
      engine.cancel()
      _ = await engine.result
      #expect(final.state == .failed)
      #expect(final.errorMessage.contains("was not finished within"))
      // The upload of a job that was never closed is removed with it.
      #expect(try harness.staging.storage.list(jobID: job.id, area: .upload).isEmpty)
    }
  }
}
