import BulkCore
import BulkEngine
import BulkSQLite
import BulkTestSupport
import Foundation
import Synchronization
import Testing

/// The server-wide budget through the real engine: parsed chunks stay within it however many jobs
/// run, and query jobs take their own turns, so held queries do not hold up loads.
@Suite("Server-wide budget")
struct ServerBudgetTests {
  /// The real warehouse with exports held at a gate, counting those running at once.
  final class HeldExports: Warehouse {
    private let base: any Warehouse
    let gate = ChunkSchedulerTests.Gate()
    private let arrivals: AsyncStream<String>.Continuation
    /// The tenant of each export as it reaches the gate.
    let arrived: AsyncStream<String>
    private let running = Mutex<(now: [String: Int], most: [String: Int], total: Int, mostTotal: Int)>(
      ([:], [:], 0, 0)
    )

    init(_ base: any Warehouse) {
      self.base = base
      (self.arrived, self.arrivals) = AsyncStream.makeStream(of: String.self)
    }

    /// The most exports that ran at once, in all and for each tenant.
    var most: (total: Int, tenants: [String: Int]) { self.running.withLock { ($0.mostTotal, $0.most) } }

    func export(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
      self.running.withLock {
        $0.now[tenant.id, default: 0] += 1
        $0.most[tenant.id] = max($0.most[tenant.id, default: 0], $0.now[tenant.id, default: 0])
        $0.total += 1
        $0.mostTotal = max($0.mostTotal, $0.total)
      }
      defer {
        self.running.withLock {
          $0.now[tenant.id, default: 1] -= 1
          $0.total -= 1
        }
      }
      self.arrivals.yield(tenant.id)
      await self.gate.wait()
      return try await self.base.export(request, tenant: tenant, into: sink)
    }

    func describe(table: String, tenant: Tenant) async throws -> TableDescription? {
      try await self.base.describe(table: table, tenant: tenant)
    }

    func apply(_ work: ChunkWork, tenant: Tenant) async throws -> [RecordOutcome] {
      try await self.base.apply(work, tenant: tenant)
    }

    func ledger(jobID: String, tenant: Tenant) async throws -> [Int: [RecordOutcome]] {
      try await self.base.ledger(jobID: jobID, tenant: tenant)
    }

    func removeLedger(jobID: String, tenant: Tenant) async throws {
      try await self.base.removeLedger(jobID: jobID, tenant: tenant)
    }
  }

  static func csv(rows: Range<Int>) -> String {
    "id,name\n" + rows.map { "\($0),name \($0)\n" }.joined()
  }

  @Test("thirty jobs held at the warehouse: no more parsed chunks alive than the budget, and every record loads")
  func budgetHolds() async throws {
    try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 2)
      settings.chunkRecords = 10
      let gate = Mutex<GatedWarehouse?>(nil)
      let harness = try EngineHarness(directory: directory, settings: settings) { base in
        let gated = GatedWarehouse(base, gatedFrom: 0)
        gate.withLock { $0 = gated }
        return gated
      }
      let gated = try #require(gate.withLock { $0 })
      try harness.sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
      let jobs = 30
      var submitted: [Job] = []
      for index in 0 ..< jobs {
        submitted.append(
          try await harness.submit(
            JobSpec(operation: .insert, object: "people"),
            [.bytes(Data(Self.csv(rows: index * 30 ..< index * 30 + 30).utf8))]
          )
        )
      }
      // Both workers hold a chunk at the gate, and every job waits for a slot of the budget but
      // at most one: a job that took three slots in a row has cut all its chunks (none finishes
      // at the closed gate, so no other job can have).
      var arrivals = gated.arrived.makeAsyncIterator()
      _ = await arrivals.next()
      _ = await arrivals.next()
      while true {
        let budget = await harness.engine.budget()
        if budget.waiting >= jobs - 1 && budget.parsed >= settings.effectiveChunkBudget { break }
        await Task.yield()
      }
      #expect(await harness.engine.budget().parsed == settings.effectiveChunkBudget)
      gated.open()
      for job in submitted {
        let finished = try await harness.finished(job)
        #expect(finished.state == .jobComplete)
        #expect(finished.numberRecordsProcessed == 30)
        #expect(finished.numberChunks == 3)
      }
      #expect(try harness.rows("SELECT count(*) FROM people") == [["\(jobs * 30)"]])
      let budget = await harness.engine.budget()
      #expect(budget.parsed == 0)
      #expect(budget.mostParsed <= settings.effectiveChunkBudget)
    }
  }

  @Test("queries held at the warehouse: loads still complete, and the query limits hold per tenant and in all")
  func heldQueries() async throws {
    try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 1)
      settings.chunkRecords = 10
      settings.maxQueries = 2
      settings.maxTenantQueries = 1
      let held = Mutex<HeldExports?>(nil)
      let harness = try EngineHarness(directory: directory, settings: settings) { base in
        let wrapped = HeldExports(base)
        held.withLock { $0 = wrapped }
        return wrapped
      }
      let warehouse = try #require(held.withLock { $0 })
      let other = Tenant(id: "other")
      try harness.sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
      try SQLiteConnection(path: harness.warehouse.path(of: other)).execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY)"
      )
      var queries: [(Job, Tenant)] = []
      for tenant in [harness.tenant, harness.tenant, harness.tenant, other] {
        let job = try await harness.service.createJob(
          JobSpec(operation: .query, object: "people", query: "SELECT id FROM people"),
          requestID: "",
          tenant: tenant
        )
        _ = try await harness.service.updateState(id: job.id, to: .uploadComplete, tenant: tenant)
        queries.append((job, tenant))
      }
      var arrivals = warehouse.arrived.makeAsyncIterator()
      let first = [await arrivals.next(), await arrivals.next()]
      while await harness.engine.queries() != (running: 2, waiting: 2) { await Task.yield() }
      #expect(Set(first) == ["acme", "other"])

      // With every query turn held, a load of the tenant runs to its end.
      let load = try await harness.run(JobSpec(operation: .insert, object: "people"), csv: Self.csv(rows: 0 ..< 25))
      #expect(load.state == .jobComplete)
      #expect(load.numberRecordsProcessed == 25)
      #expect(load.numberRecordsFailed == 0)

      warehouse.gate.open()
      for (job, tenant) in queries {
        let last = try await harness.service.watch(id: job.id, tenant: tenant).run { changes in
          var last = job
          for await change in changes {
            last = change
          }
          return last
        }
        #expect(last.state == .jobComplete, "\(last.errorMessage)")
      }
      let most = warehouse.most
      #expect(most.total == 2)
      #expect(most.tenants == ["acme": 1, "other": 1])
    }
  }
}
