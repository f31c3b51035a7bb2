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
}
