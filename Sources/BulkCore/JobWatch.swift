/// A watch of one job, subscribed to its changes and holding its state when it began (see
/// `JobService.watch`).
package struct JobWatch: Sendable {
  /// The job when the watch began.
  package let first: Job
  /// The job's changes since just before `first` was read.
  let changes: AsyncStream<Job>

  /// Runs `body` with the job now and after every change, at most about four times a second,
  /// until it is terminal or the server stops. The pacing runs as a child task of the caller
  /// and ends with `body`.
  package func run<T>(_ body: (AsyncStream<Job>) async throws -> T) async throws -> T {
    let (stream, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(1))
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await self.pace(into: continuation) }
      defer { group.cancelAll() }
      return try await body(stream)
    }
  }

  /// Sends `first`, then the changes through a `WatchPacer`, until a terminal state, the end of
  /// the subscription, or cancellation; then finishes `continuation`.
  private func pace(into continuation: AsyncStream<Job>.Continuation) async {
    defer { continuation.finish() }
    continuation.yield(self.first)
    guard !self.first.state.isTerminal else { return }
    let pacer = WatchPacer(continuation: continuation)
    await withDiscardingTaskGroup { group in
      for await change in self.changes {
        // A change stored before the first read is already in `first`.
        guard change.updatedAt >= self.first.updatedAt else { continue }
        if let due = pacer.offer(change) {
          group.addTask {
            try? await Task.sleep(until: due, clock: .continuous)
            pacer.flush()
          }
        }
        if change.state.isTerminal {
          group.cancelAll()
          break
        }
      }
    }
  }
}
