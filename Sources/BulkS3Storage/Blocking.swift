internal import Dispatch
internal import Synchronization

/// Runs `operation` (S3 calls, bounded by the client's own timeouts and retries) in a task and
/// blocks the calling thread until it is done, for `JobStorage`'s synchronous calls.
///
/// The caller must be a thread of its own or a dispatch queue's, never one of the Swift
/// concurrency pool's: a pool thread blocked here is one fewer for the task it waits for.
package func blocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
  let outcome = Outcome<T>()
  let done = DispatchSemaphore(value: 0)
  Task {
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

/// What `blocking`'s task hands back to the waiting thread.
private final class Outcome<T: Sendable>: Sendable {
  let value = Mutex<Result<T, any Error>?>(nil)
}
