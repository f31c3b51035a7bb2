internal import Synchronization

/// Tells watchers of a job when it changed. Every change the server makes to a job (state,
/// counters) is published here after it is stored.
package final class JobEvents: Sendable {
  private struct Subscription {
    var id: Int
    var continuation: AsyncStream<Job>.Continuation
  }

  private struct State {
    var nextID = 0
    var subscriptions: [String: [Subscription]] = [:]
    var stopped = false
  }

  private let state = Mutex(State())

  package init() {}

  /// The job's changes from now on; the stream keeps only the newest when a watcher is slow.
  /// It ends when the server stops (see `stop()`); after that it is empty.
  package func subscribe(jobID: String) -> AsyncStream<Job> {
    let (stream, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(1))
    let id = self.state.withLock { state -> Int? in
      guard !state.stopped else { return nil }
      state.nextID += 1
      state.subscriptions[jobID, default: []].append(Subscription(id: state.nextID, continuation: continuation))
      return state.nextID
    }
    guard let id else {
      continuation.finish()
      return stream
    }
    continuation.onTermination = { [weak self] _ in
      self?.state.withLock { state in
        state.subscriptions[jobID]?.removeAll { $0.id == id }
        if state.subscriptions[jobID]?.isEmpty == true { state.subscriptions[jobID] = nil }
      }
    }
    return stream
  }

  /// Delivers the stored job to its watchers.
  package func publish(_ job: Job) {
    let subscriptions = self.state.withLock { $0.subscriptions[job.id] ?? [] }
    for subscription in subscriptions {
      subscription.continuation.yield(job)
    }
  }

  /// Ends every subscription, and every one made later, at once: the server is stopping, and
  /// its watchers are told so (`isStopped`) rather than kept until the process ends.
  package func stop() {
    let subscriptions = self.state.withLock { state in
      state.stopped = true
      defer { state.subscriptions = [:] }
      return state.subscriptions.values.flatMap { $0 }
    }
    for subscription in subscriptions {
      subscription.continuation.finish()
    }
  }

  /// Whether `stop()` was called.
  package var isStopped: Bool { self.state.withLock { $0.stopped } }

  /// Jobs with at least one watcher, for metrics and tests.
  package var watchedJobs: Int { self.state.withLock { $0.subscriptions.count } }
}
