internal import Synchronization

/// Paces a `WatchJob` stream: at most one update every 250 ms, changes in between collapsing into
/// the newest, which goes out when its turn comes; a terminal state goes out at once and ends the
/// stream.
final class WatchPacer: Sendable {
  static let interval = Duration.milliseconds(250)

  private struct State {
    var sent = ContinuousClock.now
    /// The newest change not sent yet.
    var pending: Job?
    /// Whether a flush is scheduled for `pending`.
    var scheduled = false
    var done = false
  }

  private let continuation: AsyncStream<Job>.Continuation
  private let state = Mutex(State())

  init(continuation: AsyncStream<Job>.Continuation) {
    self.continuation = continuation
  }

  /// Sends `change` now when it is terminal or its turn has come; otherwise keeps it and returns
  /// when to `flush`, if no flush is scheduled yet.
  func offer(_ change: Job) -> ContinuousClock.Instant? {
    self.state.withLock { state -> ContinuousClock.Instant? in
      guard !state.done else { return nil }
      let due = state.sent.advanced(by: Self.interval)
      if change.state.isTerminal || ContinuousClock.now >= due {
        self.send(change, &state)
        if change.state.isTerminal {
          state.done = true
          self.continuation.finish()
        }
        return nil
      }
      state.pending = change
      guard !state.scheduled else { return nil }
      state.scheduled = true
      return due
    }
  }

  /// Sends the kept change, unless a later one went out first.
  func flush() {
    self.state.withLock { state in
      state.scheduled = false
      guard !state.done, let pending = state.pending else { return }
      self.send(pending, &state)
    }
  }

  private func send(_ job: Job, _ state: inout State) {
    self.continuation.yield(job)
    state.sent = ContinuousClock.now
    state.pending = nil
  }
}
