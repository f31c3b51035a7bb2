internal import Synchronization

/// Lets warehouse calls through while the engine runs; once it closes (graceful shutdown), the
/// calls already through finish and every later one waits for the process to end.
///
/// A job stopped at the gate neither fails nor writes results: it is left exactly as a crash
/// leaves it, `InProgress` with its committed chunks in the ledger, and the next start resumes
/// it. Waiting (rather than throwing) is what keeps the runner from counting the shutdown as the
/// job's failure.
final class ShutdownGate: Sendable {
  private struct State {
    var closed = false
    /// Calls through the gate and not finished.
    var inside = 0
    var nextID = 0
    /// Waiting for `inside` to reach 0, by id.
    var drainWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    /// The deadline timers of the drain waiters.
    var timers: [Int: Task<Void, Never>] = [:]
    /// Calls that came after the gate closed; they are never resumed.
    var held: [CheckedContinuation<Void, Never>] = []
  }

  private let state = Mutex(State())

  /// Runs `call`, unless the gate is closed: then waits until the process ends.
  func pass<T>(_ call: () async throws -> T) async throws -> T {
    let entered = self.state.withLock { state -> Bool in
      guard !state.closed else { return false }
      state.inside += 1
      return true
    }
    guard entered else { await self.hold() }
    defer { self.leave() }
    return try await call()
  }

  /// Waits until the process ends.
  private func hold() async -> Never {
    await withCheckedContinuation { continuation in
      self.state.withLock { $0.held.append(continuation) }
    }
    preconditionFailure("a call held at the closed shutdown gate was let through")
  }

  /// Closes the gate; idempotent.
  func close() {
    self.state.withLock { $0.closed = true }
  }

  /// Calls through the gate and not finished, for tests.
  var inside: Int { self.state.withLock { $0.inside } }

  /// Returns once every call through the gate has finished, or at `deadline` (honoured in a
  /// cancelled task too: shutdown runs in one).
  func drained(before deadline: ContinuousClock.Instant) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let id = self.state.withLock { state -> Int? in
        guard state.inside > 0 else { return nil }
        state.nextID += 1
        state.drainWaiters[state.nextID] = continuation
        return state.nextID
      }
      guard let id else {
        continuation.resume()
        return
      }
      // Detached, so that the caller's cancellation does not cut the wait short; it ends at the
      // deadline or when the calls are done, whichever is first.
      let timer = Task.detached {
        try? await Task.sleep(until: deadline, clock: .continuous)
        let waiter = self.state.withLock { state in
          state.timers[id] = nil
          return state.drainWaiters.removeValue(forKey: id)
        }
        waiter?.resume()
      }
      self.state.withLock { state in
        if state.drainWaiters[id] != nil {
          state.timers[id] = timer
        } else {
          timer.cancel()
        }
      }
    }
  }

  private func leave() {
    let (waiters, timers) = self.state.withLock { state in
      state.inside -= 1
      guard state.inside == 0 else { return ([CheckedContinuation<Void, Never>](), [Task<Void, Never>]()) }
      defer {
        state.drainWaiters = [:]
        state.timers = [:]
      }
      return (Array(state.drainWaiters.values), Array(state.timers.values))
    }
    for timer in timers {
      timer.cancel()
    }
    for waiter in waiters {
      waiter.resume()
    }
  }
}
