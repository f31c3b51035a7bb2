import Synchronization
import Testing

@testable import BulkEngine

@Suite("ChunkScheduler")
struct ChunkSchedulerTests {
  /// Records the order in which work ran.
  final class Journal: Sendable {
    private let entries = Mutex<[String]>([])
    var all: [String] { self.entries.withLock { $0 } }
    func record(_ entry: String) { self.entries.withLock { $0.append(entry) } }
  }

  /// Counts work running at once.
  final class Concurrency: Sendable {
    private let state = Mutex((now: 0, most: 0))
    var most: Int { self.state.withLock { $0.most } }

    func enter() {
      self.state.withLock {
        $0.now += 1
        $0.most = max($0.most, $0.now)
      }
    }

    func leave() { self.state.withLock { $0.now -= 1 } }
  }

  /// Holds callers of `wait()` until `open()`.
  final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let open = self.state.withLock { state in
          if !state.open { state.waiting.append(continuation) }
          return state.open
        }
        if open { continuation.resume() }
      }
    }

    func open() {
      let waiting = self.state.withLock { state in
        state.open = true
        defer { state.waiting = [] }
        return state.waiting
      }
      for continuation in waiting { continuation.resume() }
    }
  }

  @Test("tenants take turns: a small job's chunk runs before a big job's backlog")
  func fairness() async throws {
    let scheduler = ChunkScheduler(workers: 1)
    let journal = Journal()
    let (started, starting) = AsyncStream.makeStream(of: Void.self)
    let (release, releasing) = AsyncStream.makeStream(of: Void.self)
    try await withThrowingTaskGroup(of: Void.self) { group in
      // The big tenant's first chunk holds the only worker until released.
      group.addTask {
        try await scheduler.run(tenant: "big") {
          journal.record("big-0")
          starting.yield()
          for await _ in release { break }
        }
      }
      var iterator = started.makeAsyncIterator()
      await iterator.next()
      for index in 1 ... 5 {
        group.addTask { try await scheduler.run(tenant: "big") { journal.record("big-\(index)") } }
      }
      while await scheduler.waiting < 5 { await Task.yield() }
      group.addTask { try await scheduler.run(tenant: "small") { journal.record("small-0") } }
      while await scheduler.waiting < 6 { await Task.yield() }
      releasing.yield()
      try await group.waitForAll()
    }
    let order = journal.all
    #expect(order.count == 7)
    #expect(order.first == "big-0")
    // The small tenant waits for at most one more of the big tenant's chunks.
    let small = try #require(order.firstIndex(of: "small-0"))
    #expect(small <= 2, "\(order)")
  }

  @Test("no more than `workers` chunks run at once")
  func bound() async throws {
    let scheduler = ChunkScheduler(workers: 2)
    let running = Concurrency()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0 ..< 20 {
        group.addTask {
          try await scheduler.run(tenant: "t\(index % 3)") {
            running.enter()
            await Task.yield()
            running.leave()
          }
        }
      }
      try await group.waitForAll()
    }
    #expect(running.most <= 2)
  }

  @Test("the budget holds across tenants and jobs, and tenants take turns at its slots")
  func budget() async throws {
    let scheduler = ChunkScheduler(workers: 1, budget: 3)
    let journal = Journal()
    // Three slots taken by the big tenant.
    for _ in 0 ..< 3 { await scheduler.admit(tenant: "big") }
    #expect(await scheduler.admitted == 3)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0 ..< 4 {
        group.addTask {
          await scheduler.admit(tenant: "big")
          journal.record("big-\(index)")
        }
      }
      while await scheduler.waitingForBudget < 4 { await Task.yield() }
      group.addTask {
        await scheduler.admit(tenant: "small")
        journal.record("small-0")
      }
      while await scheduler.waitingForBudget < 5 { await Task.yield() }
      #expect(await scheduler.admitted == 3)
      // Each slot given back goes to the next waiter in turn; no more than three are ever held.
      for _ in 0 ..< 5 {
        let before = journal.all.count
        await scheduler.release(tenant: "big")
        while journal.all.count == before { await Task.yield() }
        #expect(await scheduler.admitted == 3)
      }
      try await group.waitForAll()
    }
    let order = journal.all
    #expect(order.count == 5)
    let small = try #require(order.firstIndex(of: "small-0"))
    #expect(small <= 1, "\(order)")
  }

  @Test("query turns: at most `queries` at once and `tenantQueries` per tenant, apart from the workers")
  func queryLimits() async throws {
    let scheduler = ChunkScheduler(workers: 1, queries: 3, tenantQueries: 2)
    let running = Concurrency()
    let perTenant = ["a": Concurrency(), "b": Concurrency()]
    let release = Gate()
    let (started, starting) = AsyncStream.makeStream(of: String.self)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0 ..< 8 {
        let tenant = index < 6 ? "a" : "b"
        group.addTask {
          try await scheduler.runQuery(tenant: tenant) {
            running.enter()
            perTenant[tenant]?.enter()
            starting.yield(tenant)
            await release.wait()
            perTenant[tenant]?.leave()
            running.leave()
          }
        }
      }
      var arrivals = started.makeAsyncIterator()
      var first: [String] = []
      for _ in 0 ..< 3 { first.append(await arrivals.next() ?? "") }
      while await scheduler.queryCounts.waiting < 5 { await Task.yield() }
      // Three queries hold their turns, two of `a` at most; a chunk still gets a worker at once.
      #expect(await scheduler.queryCounts.running == 3)
      #expect(first.filter { $0 == "a" }.count == 2, "\(first)")
      #expect(try await scheduler.run(tenant: "a") { "loaded" } == "loaded")
      release.open()
      try await group.waitForAll()
    }
    #expect(running.most == 3)
    #expect(perTenant["a"]?.most == 2)
  }
}
