internal import Synchronization

/// Lets warehouse calls through while the engine runs; once it closes (graceful shutdown), the
/// calls already through finish and every later one waits until its task is cancelled (the
/// engine cancels its runners once the drain is over), then throws `ShutdownGate.Stopped`.
///
/// A job stopped at the gate neither fails nor writes results: it is left exactly as a crash
/// leaves it, `InProgress` with its committed chunks in the ledger, and the next start resumes
/// it. Waiting until cancelled (rather than throwing at once) keeps the job's other chunks from
/// being counted as unprocessed while the drain lets the calls under way finish; a runner that
/// meets `Stopped`, or is cancelled, returns without finishing or settling its job.
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
    /// Calls that came after the gate closed, by id, until their task is cancelled.
    var held: [Int: CheckedContinuation<Void, any Error>] = [:]
  }

  /// What a call held at the closed gate throws once its task is cancelled: the server is
  /// stopping, and the call never ran.
  struct Stopped: Error {}

  private let state = Mutex(State())

  /// Runs `call`, unless the gate is closed: then waits until the task is cancelled and throws
  /// `Stopped`.
  func pass<T>(_ call: () async throws -> T) async throws -> T {
    let entered = self.state.withLock { state -> Bool in
      guard !state.closed else { return false }
      state.inside += 1
      return true
    }
    guard entered else { try await self.hold() }
    defer { self.leave() }
    return try await call()
  }

  /// Waits until the task is cancelled, then throws `Stopped`.
  private func hold() async throws -> Never {
    let id = self.state.withLock { state in
      state.nextID += 1
      return state.nextID
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        self.state.withLock { $0.held[id] = continuation }
        // Cancelled before the continuation was stored: the handler found nothing to resume.
        if Task.isCancelled {
          self.state.withLock { $0.held.removeValue(forKey: id) }?.resume(throwing: Stopped())
        }
      }
    } onCancel: {
      self.state.withLock { $0.held.removeValue(forKey: id) }?.resume(throwing: Stopped())
    }
    preconditionFailure("a call held at the closed shutdown gate was let through")
  }

  /// Closes the gate; idempotent.
  func close() {
    self.state.withLock { $0.closed = true }
  }

  /// Calls through the gate and not finished, for tests.
  var inside: Int { self.state.withLock { $0.inside } }

  /// Calls held at the closed gate, for tests.
  var held: Int { self.state.withLock { $0.held.count } }

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
