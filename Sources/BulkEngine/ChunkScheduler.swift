internal import DequeModule
internal import Synchronization

/// The server-wide scheduler shared by all jobs; tenants take turns everywhere, so one tenant's
/// big job does not starve another's small one.
///
/// It hands out three kinds of turns, each with per-tenant queues served round robin (a free
/// turn goes to the next tenant after the one served last that has work waiting):
/// - a **budget slot** (`admit`/`release`): held by a job from before it reads a chunk from its
///   upload until that chunk's results are written, so at most `budget` chunks are parsed and
///   coerced at once across all jobs; a job without a slot is only a position in its upload;
/// - a **worker** (`run`): at most `workers` chunks are applied to the warehouse at once;
/// - a **query** (`runQuery`): at most `queries` query jobs run at once, and at most
///   `tenantQueries` of one tenant, apart from the workers, so slow queries never hold up loads.
actor ChunkScheduler {
  private var workers: Turns
  private var budget: Turns
  private var queries: Turns
  /// Parsed chunks alive at once, counted by the chunks themselves (for metrics and tests).
  nonisolated let parsed = ChunkGauge()

  /// - Parameters:
  ///   - workers: chunks applied at once.
  ///   - budget: chunks read, parsed and coerced at once, across all jobs; at least `workers`
  ///     to keep every worker busy, `2 × workers` to parse the next chunks while the current
  ///     ones are applied.
  ///   - queries / tenantQueries: query jobs run at once, in all and for one tenant.
  init(workers: Int, budget: Int? = nil, queries: Int = 2, tenantQueries: Int = 2) {
    precondition(workers > 0, "a scheduler needs at least one worker")
    self.workers = Turns(limit: workers, perTenant: workers)
    let budget = budget ?? 2 * workers
    precondition(budget > 0, "a scheduler needs a budget of at least one chunk")
    self.budget = Turns(limit: budget, perTenant: budget)
    precondition(queries > 0 && tenantQueries > 0, "a scheduler needs room for at least one query")
    self.queries = Turns(limit: queries, perTenant: tenantQueries)
  }

  /// Runs `work` when a worker is free and it is the tenant's turn, and returns its result.
  func run<T: Sendable>(tenant: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    await withCheckedContinuation { self.resume(self.workers.enqueue(tenant: tenant, $0)) }
    defer { self.resume(self.workers.finished(tenant: tenant)) }
    return try await work()
  }

  /// Runs a query job's `work` when fewer than the query limits run and it is the tenant's turn.
  func runQuery<T: Sendable>(tenant: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    await withCheckedContinuation { self.resume(self.queries.enqueue(tenant: tenant, $0)) }
    defer { self.resume(self.queries.finished(tenant: tenant)) }
    return try await work()
  }

  /// Waits for a budget slot, in the tenant's turn; the caller then reads and parses one chunk
  /// and calls `release(tenant:)` once the chunk's records are no longer held.
  func admit(tenant: String) async {
    await withCheckedContinuation { self.resume(self.budget.enqueue(tenant: tenant, $0)) }
  }

  /// Gives back a slot taken with `admit(tenant:)`.
  func release(tenant: String) {
    self.resume(self.budget.finished(tenant: tenant))
  }

  /// Chunks waiting for a worker, for metrics and tests.
  var waiting: Int { self.workers.waiting }

  /// Jobs waiting for a budget slot, for tests.
  var waitingForBudget: Int { self.budget.waiting }

  /// Budget slots held now, for tests.
  var admitted: Int { self.budget.running }

  /// Query jobs running, and waiting for their turn, for tests.
  var queryCounts: (running: Int, waiting: Int) { (self.queries.running, self.queries.waiting) }

  private func resume(_ continuations: [CheckedContinuation<Void, Never>]) {
    for continuation in continuations {
      continuation.resume()
    }
  }
}

/// One kind of turn: at most `limit` held at once, at most `perTenant` by one tenant; waiters
/// queue per tenant and tenants are served round robin.
private struct Turns {
  typealias Waiter = CheckedContinuation<Void, Never>

  let limit: Int
  let perTenant: Int
  private(set) var running = 0
  private var runningByTenant: [String: Int] = [:]
  private var queues: [String: Deque<Waiter>] = [:]
  /// Tenants with waiters, in the order they are served next.
  private var rotation: Deque<String> = []

  init(limit: Int, perTenant: Int) {
    self.limit = limit
    self.perTenant = min(perTenant, limit)
  }

  var waiting: Int { self.queues.values.reduce(0) { $0 + $1.count } }

  /// Queues a waiter; returns the waiters whose turn it now is.
  mutating func enqueue(tenant: String, _ continuation: Waiter) -> [Waiter] {
    if self.queues[tenant, default: []].isEmpty && !self.rotation.contains(tenant) {
      self.rotation.append(tenant)
    }
    self.queues[tenant, default: []].append(continuation)
    return self.dispatch()
  }

  /// Ends a turn of `tenant`; returns the waiters whose turn it now is.
  mutating func finished(tenant: String) -> [Waiter] {
    self.running -= 1
    self.runningByTenant[tenant, default: 1] -= 1
    if self.runningByTenant[tenant] == 0 {
      self.runningByTenant[tenant] = nil
    }
    return self.dispatch()
  }

  private mutating func dispatch() -> [Waiter] {
    var ready: [Waiter] = []
    // Tenants at their own limit keep their place and are passed over; `passed` stops the loop
    // once every tenant left has been passed over.
    var passed = 0
    while self.running < self.limit, passed < self.rotation.count, let tenant = self.rotation.popFirst() {
      guard self.runningByTenant[tenant, default: 0] < self.perTenant else {
        self.rotation.append(tenant)
        passed += 1
        continue
      }
      passed = 0
      guard let next = self.queues[tenant]?.popFirst() else { continue }
      if self.queues[tenant]?.isEmpty == false {
        self.rotation.append(tenant)
      } else {
        self.queues[tenant] = nil
      }
      self.running += 1
      self.runningByTenant[tenant, default: 0] += 1
      ready.append(next)
    }
    return ready
  }
}

/// Counts parsed chunks alive at once across all jobs, and the most seen.
final class ChunkGauge: Sendable {
  private let state = Mutex((now: 0, most: 0))

  /// Parsed chunks alive now, and the most alive at once since the start.
  var counts: (now: Int, most: Int) { self.state.withLock { ($0.now, $0.most) } }

  func enter() {
    self.state.withLock {
      $0.now += 1
      $0.most = max($0.most, $0.now)
    }
  }

  func leave() {
    self.state.withLock { $0.now -= 1 }
  }
}
