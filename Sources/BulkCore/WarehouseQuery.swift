internal import Foundation
internal import Synchronization

/// A query job's statement, as a warehouse runs it: read-only, alone, within its timeout.
package struct QueryRequest: Sendable {
  package var jobID: String
  /// The tenant's SQL, one `SELECT` (or `WITH … SELECT`, `VALUES`, `TABLE`) statement.
  package var sql: String
  /// How the rows should come out.
  package var output: QueryOutput
  /// The statement is cancelled when it runs longer than this.
  package var timeout: Duration
  /// Cancels the running statement when the job is aborted or its deadline passes.
  package var cancellation: QueryCancellation
  /// The table that `sql` reads whole, in no particular order (a query job without a query,
  /// `JobSpec.wholeObjectQuery`), so a warehouse may read parts of it at once; `nil` for any
  /// other statement.
  package var wholeTable: String?

  package init(
    jobID: String,
    sql: String,
    output: QueryOutput,
    timeout: Duration,
    cancellation: QueryCancellation,
    wholeTable: String? = nil
  ) {
    self.jobID = jobID
    self.sql = sql
    self.output = output
    self.timeout = timeout
    self.cancellation = cancellation
    self.wholeTable = wholeTable
  }
}

/// The form in which a warehouse hands over a query's rows.
package enum QueryOutput: Hashable, Sendable {
  /// Encoded CSV lines (RFC 4180, `\n` line ends, no header) with this field delimiter, which a
  /// warehouse that can write CSV itself produces directly; others hand typed values instead.
  case csv(delimiter: UInt8)
  /// Typed values.
  case values
}

/// A result column of a query.
package struct QueryColumn: Hashable, Sendable {
  package var name: String
  /// The family of the column's values, which decides the value kinds of typed rows.
  package var type: ColumnType

  package init(name: String, type: ColumnType) {
    self.name = name
    self.type = type
  }
}

/// A batch of a query's rows, in the order the statement returned them.
package enum QueryRows: Sendable {
  /// CSV lines, each ending in `\n`, and the offset where each starts in `bytes`.
  case csv(bytes: [UInt8], starts: [Int])
  /// One array of values per row, one value per column.
  case values([[FieldValue]])

  /// The number of rows in the batch.
  package var count: Int {
    switch self {
    case .csv(_, let starts): starts.count
    case .values(let rows): rows.count
    }
  }
}

/// Where a warehouse delivers a query's result: the columns once, then the rows in batches.
///
/// The warehouse calls it from the thread that reads the database; a table read on several
/// connections calls `rows` from each one's thread, at once. Each batch holds whole rows. A throw
/// stops the statement.
package protocol QueryRowSink: Sendable {
  func columns(_ columns: [QueryColumn]) throws
  func rows(_ batch: QueryRows) throws
}

/// Cancels a running query from any thread: handlers registered by the warehouse (a libpq cancel
/// request, an SQLite interrupt) run once when `cancel` is called, or at once when registered
/// after it.
package final class QueryCancellation: Sendable {
  /// Why a query was cancelled.
  package enum Reason: Hashable, Sendable {
    /// The job was aborted.
    case aborted
    /// The server's own deadline passed (the statement timeout did not end the statement).
    case deadline
  }

  private struct State {
    var reason: Reason?
    var handlers: [Int: @Sendable () -> Void] = [:]
    var nextID = 0
  }

  private let state = Mutex(State())

  package init() {}

  /// Why the query was cancelled, `nil` while it was not.
  package var reason: Reason? { self.state.withLock { $0.reason } }

  /// Cancels the query; only the first call counts.
  package func cancel(_ reason: Reason) {
    let handlers = self.state.withLock { state -> [@Sendable () -> Void] in
      guard state.reason == nil else { return [] }
      state.reason = reason
      defer { state.handlers = [:] }
      return Array(state.handlers.values)
    }
    for handler in handlers { handler() }
  }

  /// Registers `handler` to run on cancellation; `nil` when already cancelled.
  fileprivate func register(_ handler: @escaping @Sendable () -> Void) -> Int? {
    self.state.withLock { state -> Int? in
      guard state.reason == nil else { return nil }
      let id = state.nextID
      state.nextID += 1
      state.handlers[id] = handler
      return id
    }
  }

  fileprivate func unregister(_ id: Int) {
    _ = self.state.withLock { $0.handlers.removeValue(forKey: id) }
  }
}

extension QueryRequest {
  /// Runs `body`, the statement, with `handler` called if the query is cancelled meanwhile;
  /// when it was cancelled before, throws `BulkError.queryCancelled` without running `body`.
  package func whileRunning<T>(onCancel handler: @escaping @Sendable () -> Void, _ body: () throws -> T) throws -> T {
    guard let id = self.cancellation.register(handler) else {
      throw BulkError.queryCancelled(self.cancellation.reason, timeout: self.timeout)
    }
    defer { self.cancellation.unregister(id) }
    return try body()
  }
}

extension BulkError {
  /// A query job's statement that the warehouse refused or that failed; the job fails with the
  /// message.
  package static func queryRefused(_ message: String) -> BulkError {
    BulkError(code: .invalidArgument, message: message)
  }

  /// The reason a cancelled query gives.
  package static func queryCancelled(_ reason: QueryCancellation.Reason?, timeout: Duration) -> BulkError {
    switch reason {
    case .aborted:
      BulkError(code: .failedPrecondition, message: "the query was cancelled because the job was aborted")
    case .deadline, nil:
      BulkError(
        code: .resourceExhausted,
        message: "the query ran past its timeout of \(timeout.formatted(.units(allowed: [.hours, .minutes, .seconds, .milliseconds]))) and was cancelled"
      )
    }
  }
}
