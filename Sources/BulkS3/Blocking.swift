internal import Dispatch
internal import Synchronization

/// Runs `operation` (S3 calls, bounded by the client's own timeouts and retries) in a task and
/// blocks the calling thread until it is done: for synchronous callers (`JobStorage`, a
/// database connection's thread).
///
/// The task prefers `S3BlockingExecutor`, threads of its own, so it never needs a thread of the
/// Swift concurrency pool: callers may run on that pool too (the engine calls storage from it),
/// and with every pool thread blocked here waiting, a task that needed one would never run.
package func blocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
  let outcome = Outcome<T>()
  let done = DispatchSemaphore(value: 0)
  Task(executorPreference: S3BlockingExecutor.shared) {
    let result: Result<T, any Error>
    do {
      result = .success(try await operation())
    } catch {
      result = .failure(error)
    }
    outcome.value.withLock { $0 = result }
    done.signal()
  }
  done.wait()
  return try outcome.value.withLock { $0! }.get()
}

/// The executor of `blocking`'s tasks: a concurrent dispatch queue, whose threads are not the
/// concurrency pool's. Default actors the tasks call (the credential chain) run here too.
package final class S3BlockingExecutor: TaskExecutor {
  package static let shared = S3BlockingExecutor()
  private let queue = DispatchQueue(label: "spectra.s3-storage", attributes: .concurrent)

  package func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    self.queue.async {
      job.runSynchronously(on: self.asUnownedTaskExecutor())
    }
  }
}

/// What `blocking`'s task hands back to the waiting thread.
private final class Outcome<T: Sendable>: Sendable {
  let value = Mutex<Result<T, any Error>?>(nil)
}
