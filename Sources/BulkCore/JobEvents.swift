/// Tells watchers of a job when it changed. Every change the server makes to a job (state,
/// counters) is published here after it is stored (by `JobTransitions`), and `WatchJob` reads it.
///
/// The seam lets a catalog that can notify feed the watchers of every instance:
/// `PostgresJobEvents` publishes with `NOTIFY` and listens on one `LISTEN` connection, so a
/// watcher on any instance sees the work of all. `InProcessJobEvents` serves one process.
package protocol JobEvents: Sendable {
  /// The tenant's job's changes from now on; the stream keeps only the newest when a watcher is
  /// slow. It ends when the server stops (see `stop()`); after that it is empty. The tenant is
  /// what an implementation fed by other instances reads the job back with.
  func subscribe(jobID: String, tenantID: String) -> AsyncStream<Job>

  /// Delivers the stored job to its watchers.
  func publish(_ job: Job)

  /// Ends every subscription, and every one made later, at once: the server is stopping, and
  /// its watchers are told so (`isStopped`) rather than kept until the process ends.
  func stop()

  /// Whether `stop()` was called.
  var isStopped: Bool { get }
}
