internal import Dispatch
internal import Synchronization

/// A fixed number of libpq connections, each confined to a serial dispatch queue of its own.
///
/// libpq blocks the calling thread for every round trip, so no libpq call may run on the Swift
/// concurrency pool (a handful of threads shared by every task) or on a NIO event loop: one slow
/// statement would stall unrelated work. `withConnection` therefore only *waits* asynchronously:
/// it takes a free slot (or queues, first come first served, until one is released), runs the
/// body on that slot's serial queue, whose threads are Dispatch's and may block, and resumes the
/// caller with the result.
///
/// Connections open lazily on first use, and a connection found down before a use (the server
/// restarted, the network dropped) is reset first. After each use a transaction the body left
/// open is rolled back, so no state leaks from one use to the next. The pool itself sets no
/// session state, so it never needs `RESET ALL`; bodies change settings with `SET LOCAL` only.
package final class PostgresConnectionPool: Sendable {
  /// One connection and the queue that alone touches it.
  private final class Slot: Sendable {
    let queue: DispatchQueue
    /// Read and written on `queue` only; the lock is uncontended and makes that checkable.
    let connection = Mutex<PostgresConnection?>(nil)

    init(index: Int) {
      self.queue = DispatchQueue(label: "spectra.bulk.postgres.connection.\(index)")
    }
  }

  /// Which slots are free and who waits for one.
  private struct State {
    var idle: [Int]
    var waiters: [(id: Int, continuation: CheckedContinuation<Int, any Error>)] = []
    var nextWaiterID = 0
    var isShutDown = false
  }

  private let login: PostgresLogin
  private let reusesConnections: Bool
  private let slots: [Slot]
  private let state: Mutex<State>

  /// A pool of `size` connections to `url`, none opened yet.
  package convenience init(url: String, size: Int) {
    self.init(login: PostgresLogin(url: url), size: size)
  }

  /// A pool of `size` connections made as `login` says, none opened yet.
  ///
  /// - Parameter reusesConnections: `false` closes each connection after its use, so that no
  ///   session state (a session advisory lock, say) can outlive the use: for connections that run
  ///   SQL a tenant wrote. The pool then bounds how many such uses run at once.
  package init(login: PostgresLogin, size: Int, reusesConnections: Bool = true) {
    precondition(size > 0, "a connection pool needs at least one connection")
    self.login = login
    self.reusesConnections = reusesConnections
    self.slots = (0 ..< size).map(Slot.init(index:))
    self.state = Mutex(State(idle: Array((0 ..< size).reversed())))
  }

  /// The number of connections.
  package var size: Int { self.slots.count }

  /// Runs `body` with a connection of its own, on that connection's serial queue.
  ///
  /// `body` may block; it must not keep the connection beyond its return. Errors of the
  /// connection (`PostgresError.isConnectionFailure`) are thrown to the caller, and the connection
  /// is reset before its next use.
  package func withConnection<T: Sendable>(
    _ body: @escaping @Sendable (PostgresConnection) throws -> T
  ) async throws -> T {
    let index = try await self.acquire()
    let slot = self.slots[index]
    return try await withCheckedThrowingContinuation { continuation in
      slot.queue.async {
        let result = Result { try self.use(slot, body) }
        self.release(index)
        continuation.resume(with: result)
      }
    }
  }

  /// Starts `body` on a free connection, on that connection's queue, if one is free now and
  /// nobody waits for one; `nil` otherwise, and nothing runs.
  ///
  /// For work that only helps a use already running, from that use's blocking body (the second
  /// connection of a whole-table export): it never waits in line, so it can neither hold up
  /// another caller nor wait on itself. The caller must `wait()` for the result before its own
  /// use ends.
  package func startIfFree<T: Sendable>(
    _ body: @escaping @Sendable (PostgresConnection) throws -> T
  ) -> StartedUse<T>? {
    let index = self.state.withLock { state -> Int? in
      guard !state.isShutDown, state.waiters.isEmpty else { return nil }
      return state.idle.popLast()
    }
    guard let index else { return nil }
    let slot = self.slots[index]
    let started = StartedUse<T>()
    slot.queue.async {
      let result = Result { try self.use(slot, body) }
      self.release(index)
      started.finish(result)
    }
    return started
  }

  /// Closes every connection and fails every waiter; later calls throw. Connections in use close
  /// when their current use ends.
  package func shutdown() {
    let waiters = self.state.withLock { state in
      state.isShutDown = true
      defer { state.waiters.removeAll() }
      return state.waiters
    }
    for waiter in waiters {
      waiter.continuation.resume(throwing: Self.shutDownError)
    }
    for slot in self.slots {
      slot.queue.async {
        slot.connection.withLock { $0 = nil }
      }
    }
  }

  /// On the slot's queue: opens or resets its connection, runs `body`, and leaves the connection
  /// idle (or drops it) for the next use.
  private func use<T>(_ slot: Slot, _ body: (PostgresConnection) throws -> T) throws -> T {
    let connection = try slot.connection.withLock { current in
      if let connection = current {
        if !connection.isHealthy { try connection.reset() }
        return connection
      }
      let connection = try PostgresConnection(login: self.login)
      current = connection
      return connection
    }
    defer {
      if connection.isInTransaction {
        // Whatever the body left open must not reach the next user.
        do {
          try connection.execute("ROLLBACK")
        } catch {
          slot.connection.withLock { $0 = nil }
        }
      }
      if !self.reusesConnections || self.state.withLock({ $0.isShutDown }) {
        slot.connection.withLock { $0 = nil }
      }
    }
    return try body(connection)
  }

  /// Takes a free slot, or waits in line for one.
  private func acquire() async throws -> Int {
    let waiterID = self.state.withLock { state in
      defer { state.nextWaiterID += 1 }
      return state.nextWaiterID
    }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
        enum Decision {
          case take(Int)
          case fail(any Error)
          case wait
        }
        let decision = self.state.withLock { state -> Decision in
          if state.isShutDown { return .fail(Self.shutDownError) }
          // Checked under the lock, so a cancellation either happened before (seen here) or
          // finds the waiter in line.
          if Task.isCancelled { return .fail(CancellationError()) }
          if state.waiters.isEmpty, let index = state.idle.popLast() { return .take(index) }
          state.waiters.append((waiterID, continuation))
          return .wait
        }
        switch decision {
        case .take(let index): continuation.resume(returning: index)
        case .fail(let error): continuation.resume(throwing: error)
        case .wait: break
        }
      }
    } onCancel: {
      let waiter = self.state.withLock { state in
        state.waiters.firstIndex { $0.id == waiterID }.map { state.waiters.remove(at: $0) }
      }
      waiter?.continuation.resume(throwing: CancellationError())
    }
  }

  /// Hands the slot to the longest waiter, or marks it free.
  private func release(_ index: Int) {
    let waiter = self.state.withLock { state -> CheckedContinuation<Int, any Error>? in
      if state.waiters.isEmpty {
        state.idle.append(index)
        return nil
      }
      return state.waiters.removeFirst().continuation
    }
    waiter?.resume(returning: index)
  }

  private static let shutDownError = PostgresError(message: "the PostgreSQL connection pool is shut down")
}

/// A use of a pool's connection started by `startIfFree`, running on the connection's queue.
package final class StartedUse<T: Sendable>: Sendable {
  private let result = Mutex<Result<T, any Error>?>(nil)
  private let done = DispatchSemaphore(value: 0)

  fileprivate init() {}

  fileprivate func finish(_ result: Result<T, any Error>) {
    self.result.withLock { $0 = result }
    self.done.signal()
  }

  /// Blocks the calling thread until the use ends, and returns what its body returned or threw.
  package func wait() throws -> T {
    self.done.wait()
    // Left signalled for any later call.
    self.done.signal()
    guard let result = self.result.withLock({ $0 }) else {
      preconditionFailure("a started use was signalled without its result")
    }
    return try result.get()
  }
}
