internal import DequeModule

/// The worker pool shared by all jobs: at most `workers` chunks run at once, and tenants take
/// turns, so one tenant's big job does not starve another's small one.
///
/// Each tenant has its own queue; a free worker takes the next chunk of the tenant after the one
/// it served last (round robin over tenants with work).
actor ChunkScheduler {
  typealias Work = @Sendable () async -> Void

  private let workers: Int
  private var running = 0
  private var queues: [String: Deque<Work>] = [:]
  private var rotation: Deque<String> = []

  init(workers: Int) {
    precondition(workers > 0, "a scheduler needs at least one worker")
    self.workers = workers
  }

  /// Runs `work` when a worker is free and it is the tenant's turn, and returns its result.
  func run<T: Sendable>(tenant: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
      self.enqueue(tenant: tenant) {
        do {
          continuation.resume(returning: try await work())
        } catch {
          continuation.resume(throwing: error)
        }
      }
    }
  }

  /// Chunks waiting for a worker, for metrics and tests.
  var waiting: Int { self.queues.values.reduce(0) { $0 + $1.count } }

  private func enqueue(tenant: String, _ work: @escaping Work) {
    if self.queues[tenant, default: []].isEmpty && !self.rotation.contains(tenant) {
      self.rotation.append(tenant)
    }
    self.queues[tenant, default: []].append(work)
    self.dispatch()
  }

  private func dispatch() {
    while self.running < self.workers, let tenant = self.rotation.popFirst() {
      guard let work = self.queues[tenant]?.popFirst() else { continue }
      if self.queues[tenant]?.isEmpty == false {
        self.rotation.append(tenant)
      } else {
        self.queues[tenant] = nil
      }
      self.running += 1
      Task {
        await work()
        self.finished()
      }
    }
  }

  private func finished() {
    self.running -= 1
    self.dispatch()
  }
}
