import BulkCore
import BulkEngine
import BulkTestSupport
import Foundation
import Synchronization
import Testing

@Suite("JobEngine: shutdown")
struct EngineShutdownTests {
  static let table = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
  static let csv = "id,name\n" + (1 ... 10).map { "\($0),item \($0)" }.joined(separator: "\n") + "\n"

  @Test(
    "a cancelled run returns once its runners have: the chunk under way finishes or rolls back, the job stays InProgress and resumes",
    .timeLimit(.minutes(1))
  )
  func runnersEndWithRun() async throws {
    try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 1)
      settings.chunkRecords = 2
      // The first engine, and its connections to the catalog and the warehouse, are gone before
      // the second starts on the same files, as after a process ends.
      let left = try await { () async throws -> Job in
        let gate = Mutex<GatedWarehouse?>(nil)
        let first = try EngineHarness(directory: directory, settings: settings) { base in
          let gated = GatedWarehouse(base, gatedFrom: 1)
          gate.withLock { $0 = gated }
          return gated
        }
        let gated = try #require(gate.withLock { $0 })
        try first.sql(Self.table)
        let engine = Task { try await first.engine.run() }
        let job = try await first.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv.utf8))])
        var arrivals = gated.arrived.makeAsyncIterator()
        #expect(await arrivals.next() == 1)
        // Shutdown begins with chunk 1 at the warehouse: it finishes, no later chunk starts.
        first.engine.stopStartingChunks(drainUntil: .now.advanced(by: .seconds(30)))
        gated.open()
        engine.cancel()
        try await engine.value
        // run() returned after the runner had: nothing of the job is running any more.
        await first.engine.waitUntilIdle(jobID: job.id)
        let left = try await first.service.job(id: job.id, tenant: first.tenant)
        #expect(left.state == .inProgress)
        // The chunk under way either finished or was rolled back (its apply saw the cancellation
        // before it began); either way the counter agrees with the table and no later chunk ran.
        #expect(left.numberRecordsProcessed == 2 || left.numberRecordsProcessed == 4)
        #expect(try first.rows("SELECT count(*) FROM items") == [["\(left.numberRecordsProcessed)"]])
        return left
      }()

      let second = try EngineHarness(directory: directory, settings: settings)
      let resumed = Task { try await second.engine.run() }
      let final = try await second.finished(left)
      resumed.cancel()
      try await resumed.value
      #expect(final.state == .jobComplete)
      #expect(final.numberRecordsProcessed == 10)
      #expect(try second.rows("SELECT count(*), count(DISTINCT id) FROM items") == [["10", "10"]])
      #expect(try await second.results(final, .successful).records == 10)
    }
  }
}
