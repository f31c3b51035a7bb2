package import BulkCore
internal import Foundation
package import Logging
internal import Synchronization

/// `JobEvents` for instances that share a PostgreSQL catalog: a watcher on any instance sees the
/// changes made on every instance.
///
/// - `publish` hands the job to this instance's watchers at once and sends
///   `NOTIFY <channel>, '<instance> <tenant> <job>'` on a connection of its own. The job itself
///   is not in the payload (8000 bytes at most): it is in the catalog, already committed.
/// - One connection `LISTEN`s. A notification from another instance about a job watched here
///   reads the job from the catalog (`read`) and hands it to the watchers; reads of one job are
///   done one at a time, and notifications arriving meanwhile make one more read, not many.
/// - The fallback: every `pollInterval`, and whenever the listening connection comes back after
///   a loss, every watched job is read again, so a missed notification delays a change by at
///   most that long.
/// - A job older than the one last handed over (by `updatedAt`) is never handed over.
package final class PostgresJobEvents: JobEvents {
  private struct Watched {
    var tenantID: String
    /// The newest job handed to this instance's watchers.
    var last: Job?
    var reading = false
    var readAgain = false
  }

  private struct State {
    var watched: [String: Watched] = [:]
    var stopped = false
    var listening = false
    var poll: Task<Void, Never>?
  }

  private let local = InProcessJobEvents()
  private let login: PostgresLogin
  private let channel: String
  private let instanceID: String
  private let pollInterval: Duration
  private let read: @Sendable (_ jobID: String, _ tenantID: String) async throws -> Job?
  private let notifier: PostgresConnectionPool
  private let logger: Logger
  private let state = Mutex(State())

  /// Events among the instances on the database at `url`, sent on `channel`; `read` reads a job
  /// from the shared catalog. Call `start()` to listen.
  package init(
    url: String,
    instanceID: String,
    channel: String = "spectra_job_events",
    pollInterval: Duration = .seconds(2),
    logger: Logger,
    read: @escaping @Sendable (_ jobID: String, _ tenantID: String) async throws -> Job?
  ) {
    self.login = PostgresLogin(url: url)
    self.channel = channel
    self.instanceID = instanceID
    self.pollInterval = pollInterval
    self.read = read
    self.logger = logger
    self.notifier = PostgresConnectionPool(login: self.login, size: 1)
  }

  /// Starts the listening connection (on a thread of its own, where it waits on its socket) and
  /// the poll.
  package func start() {
    let thread = Thread { [self] in self.listen() }
    thread.name = "spectra-job-events"
    thread.start()
    let poll = Task { [self] in
      while !self.isStopped {
        do {
          try await Task.sleep(for: self.pollInterval)
        } catch {
          return
        }
        self.refreshAll()
      }
    }
    self.state.withLock { $0.poll = poll }
  }

  package func subscribe(jobID: String, tenantID: String) -> AsyncStream<Job> {
    let stream = self.local.subscribe(jobID: jobID, tenantID: tenantID)
    self.state.withLock { state in
      if !state.stopped, state.watched[jobID] == nil { state.watched[jobID] = Watched(tenantID: tenantID) }
    }
    return stream
  }

  package func publish(_ job: Job) {
    self.deliver(job)
    let payload = "\(self.instanceID) \(job.tenantID) \(job.id)"
    let (channel, logger) = (self.channel, self.logger)
    Task { [notifier = self.notifier] in
      do {
        _ = try await notifier.withConnection { try $0.execute("SELECT pg_notify($1, $2)", [channel, payload]) }
      } catch {
        // The other instances' poll still finds the change.
        logger.warning("could not notify the other instances of a job change", metadata: ["job": "\(job.id)", "error": "\(error)"])
      }
    }
  }

  package func stop() {
    let poll = self.state.withLock { state in
      state.stopped = true
      state.watched = [:]
      return state.poll
    }
    poll?.cancel()
    self.local.stop()
    self.notifier.shutdown()
  }

  package var isStopped: Bool { self.state.withLock { $0.stopped } }

  /// Whether the listening connection is up and listening: for tests and health.
  package var isListening: Bool { self.state.withLock { $0.listening } }

  /// Hands `job` to this instance's watchers unless a newer one was handed over already.
  private func deliver(_ job: Job) {
    let newer = self.state.withLock { state -> Bool in
      guard var watched = state.watched[job.id] else { return true }
      if let last = watched.last, last == job || job.updatedAt < last.updatedAt { return false }
      watched.last = job
      state.watched[job.id] = watched
      return true
    }
    if newer { self.local.publish(job) }
  }

  /// Reads the job again and delivers it; one read per job at a time, and one more when asked
  /// meanwhile.
  private func refresh(jobID: String) {
    let tenantID = self.state.withLock { state -> String? in
      guard var watched = state.watched[jobID] else { return nil }
      guard !watched.reading else {
        watched.readAgain = true
        state.watched[jobID] = watched
        return nil
      }
      watched.reading = true
      watched.readAgain = false
      state.watched[jobID] = watched
      return watched.tenantID
    }
    guard let tenantID else { return }
    Task { [self] in
      while true {
        do {
          if let job = try await self.read(jobID, tenantID) { self.deliver(job) }
        } catch {
          self.logger.debug("could not read a watched job", metadata: ["job": "\(jobID)", "error": "\(error)"])
        }
        let again = self.state.withLock { state -> Bool in
          guard var watched = state.watched[jobID] else { return false }
          let again = watched.readAgain
          watched.readAgain = false
          watched.reading = again
          state.watched[jobID] = watched
          return again
        }
        guard again else { return }
      }
    }
  }

  /// Reads every watched job again, and forgets the jobs no one watches any more.
  private func refreshAll() {
    let watchedHere = self.local.watchedJobIDs
    let jobs = self.state.withLock { state -> [String] in
      state.watched = state.watched.filter { watchedHere.contains($0.key) }
      return Array(state.watched.keys)
    }
    for job in jobs { self.refresh(jobID: job) }
  }

  /// The listening loop: connects, `LISTEN`s, refreshes every watched job (what was missed while
  /// not listening), then turns notifications into refreshes; reconnects a second after a loss.
  private func listen() {
    while !self.isStopped {
      do {
        let connection = try PostgresConnection(login: self.login)
        try connection.execute("LISTEN \(Identifier.quoted(self.channel))")
        self.state.withLock { $0.listening = true }
        self.refreshAll()
        while !self.isStopped {
          for payload in try connection.notifications(waitingUpTo: .milliseconds(250)) {
            let parts = payload.split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[0] != self.instanceID else { continue }
            self.refresh(jobID: parts[2])
          }
        }
      } catch {
        self.state.withLock { $0.listening = false }
        self.logger.warning("the job events connection was lost; reconnecting", metadata: ["error": "\(error)"])
        Thread.sleep(forTimeInterval: 1)
      }
    }
    self.state.withLock { $0.listening = false }
  }
}
