internal import BulkCore
internal import Synchronization

/// Whether the server is serving or stopping, as `grpc.health.v1.Health` reports it and as the
/// long calls (uploads, health watches) follow it.
///
/// It starts serving; `stopServing()` (graceful shutdown) turns every known service
/// `NOT_SERVING` at once, tells the health watchers, ends their streams and ends the uploads
/// in flight. It never turns back.
package final class ServingState: Sendable {
  /// A service's health, as the protocol names it.
  package enum Status: Sendable, Equatable {
    case serving
    case notServing
  }

  private struct State {
    var stopping = false
    var nextID = 0
    /// Health watchers, by id.
    var watchers: [Int: AsyncStream<Status>.Continuation] = [:]
    /// Calls waiting for the stop, by id.
    var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
  }

  /// The service names health answers for: "" (the server as a whole) and each served service.
  package let services: Set<String>
  private let state = Mutex(State())

  /// - Parameter services: the fully qualified names of the services health reports on, besides "".
  package init(services: [String] = []) {
    self.services = Set(services + [""])
  }

  /// Whether graceful shutdown has begun.
  package var isStopping: Bool { self.state.withLock { $0.stopping } }

  /// The status of `service`, or `nil` when health does not know it.
  package func status(of service: String) -> Status? {
    guard self.services.contains(service) else { return nil }
    return self.isStopping ? .notServing : .serving
  }

  /// The status now, then `notServing` once when shutdown begins, after which the stream ends
  /// (so that the watch does not hold the server's drain open).
  package func watch() -> AsyncStream<Status> {
    let (stream, continuation) = AsyncStream.makeStream(of: Status.self, bufferingPolicy: .bufferingNewest(2))
    let id: Int? = self.state.withLock { state in
      guard !state.stopping else { return nil }
      state.nextID += 1
      state.watchers[state.nextID] = continuation
      return state.nextID
    }
    guard let id else {
      continuation.yield(.notServing)
      continuation.finish()
      return stream
    }
    continuation.yield(.serving)
    continuation.onTermination = { [weak self] _ in
      _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
    }
    return stream
  }

  /// Turns every service `NOT_SERVING`, tells the watchers and wakes the calls waiting for it.
  /// Idempotent.
  package func stopServing() {
    let (watchers, waiters) = self.state.withLock { state in
      guard !state.stopping else {
        return ([AsyncStream<Status>.Continuation](), [CheckedContinuation<Void, Never>]())
      }
      state.stopping = true
      defer {
        state.watchers = [:]
        state.waiters = [:]
      }
      return (Array(state.watchers.values), Array(state.waiters.values))
    }
    for watcher in watchers {
      watcher.yield(.notServing)
      watcher.finish()
    }
    for waiter in waiters {
      waiter.resume()
    }
  }

  /// Runs `body` until it ends or the server begins stopping, whichever is first. On the stop,
  /// `body` is cancelled and waited for (so that it can keep what it has), then the call fails
  /// with `UNAVAILABLE` saying that the server is stopping and `what`.
  package func untilStopping<T: Sendable>(
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
  ) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        await self.stopped()
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next() else {
        throw BulkError(code: .internal, message: "a call ended without an outcome")
      }
      if let result = first { return result }
      group.cancelAll()
      // What `body` does when cancelled (keeping what it stored) happens before the error.
      while let next = try? await group.next() {
        _ = next
      }
      throw BulkError(code: .unavailable, message: "the server is stopping: \(what)")
    }
  }

  /// Returns when shutdown begins, or when the calling task is cancelled.
  private func stopped() async {
    let id = self.state.withLock { state -> Int? in
      guard !state.stopping else { return nil }
      state.nextID += 1
      return state.nextID
    }
    guard let id else { return }
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = self.state.withLock { state -> Bool in
          // Stopped, or cancelled before the continuation was stored.
          guard !state.stopping, !Task.isCancelled else { return true }
          state.waiters[id] = continuation
          return false
        }
        if resumeNow { continuation.resume() }
      }
    } onCancel: {
      let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
      waiter?.resume()
    }
  }
}
