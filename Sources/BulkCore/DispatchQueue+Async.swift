package import Dispatch

extension DispatchQueue {
  /// Runs `body` on this queue and returns its result to the awaiting task, so blocking work
  /// (SQLite, file I/O, fsync) runs on the queue's thread, not on the Swift concurrency pool.
  package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      self.async {
        continuation.resume(with: Result { try body() })
      }
    }
  }
}
