internal import Synchronization

/// `JobEvents` within one process: a job's watchers are the subscriptions made here, and only
/// the changes published here reach them.
package final class InProcessJobEvents: JobEvents {
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

  package func subscribe(jobID: String, tenantID: String) -> AsyncStream<Job> {
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

  package func publish(_ job: Job) {
    let subscriptions = self.state.withLock { $0.subscriptions[job.id] ?? [] }
    for subscription in subscriptions {
      subscription.continuation.yield(job)
    }
  }

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

  package var isStopped: Bool { self.state.withLock { $0.stopped } }

  /// The ids of the jobs with at least one watcher.
  package var watchedJobIDs: Set<String> { self.state.withLock { Set($0.subscriptions.keys) } }

  /// Jobs with at least one watcher, for metrics and tests.
  package var watchedJobs: Int { self.state.withLock { $0.subscriptions.count } }
}
