/// An error reported by PostgreSQL (or Redshift), or by libpq on the way to it.
///
/// `description` carries the server's message and detail, which may quote a value of the
/// statement (`Key (id)=(7) already exists.`), but never the statement's parameters wholesale.
///
/// Internal: it becomes a record's outcome, a job's `error_message` or a `BulkError`; a
/// transport never answers with it.
package struct PostgresError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The five-character SQLSTATE, e.g. `23505`; `nil` for errors that libpq raised itself
  /// (cannot connect, connection lost).
  package var sqlState: String?
  /// The primary, one-line message.
  package var message: String
  /// The server's detail line, e.g. `Key (id)=(7) already exists.`
  package var detail: String?
  /// Whether the connection itself failed (libpq saw it drop, or the server reported class 08,
  /// or an administrator or crash shutdown), rather than the statement.
  package var isConnectionFailure: Bool

  /// An error; `isConnectionFailure` is also set for the SQLSTATEs and libpq messages that mean
  /// the connection is gone.
  package init(sqlState: String? = nil, message: String, detail: String? = nil, isConnectionFailure: Bool = false) {
    self.sqlState = sqlState
    self.message = message
    self.detail = detail
    self.isConnectionFailure =
      isConnectionFailure || Self.connectionFailureStates.contains(sqlState ?? "") || sqlState?.hasPrefix("08") == true
      || message.contains("server closed the connection")
  }

  /// The SQLSTATE, message and detail, for logs.
  package var description: String {
    var text = self.sqlState.map { "PostgreSQL error \($0): \(self.message)" } ?? "PostgreSQL error: \(self.message)"
    if let detail = self.detail { text += " (\(detail))" }
    return text
  }

  /// Whether one record can cause this error, so that the chunk is split to find it: a data
  /// exception (22), an integrity constraint violation (23), a cardinality violation (21), a
  /// `WITH CHECK OPTION` violation (44), an exception raised by a trigger (P0), or a row over a
  /// limit such as an index entry that is too large (54000). Anything else (a table gone, a
  /// deadlock, a permission) concerns the whole chunk and is thrown.
  package var isRecordError: Bool {
    guard !self.isConnectionFailure, let sqlState = self.sqlState else { return false }
    return sqlState == "54000" || ["21", "22", "23", "44", "P0"].contains(String(sqlState.prefix(2)))
  }

  /// The stable code a record that failed with this error reports.
  package var recordCode: String {
    switch self.sqlState {
    case "23505": "DUPLICATE_KEY"
    case "23502": "NOT_NULL"
    case "23503": "FOREIGN_KEY"
    case "23514": "CHECK_VIOLATION"
    case "22001": "VALUE_TOO_LONG"
    case let state? where state.hasPrefix("22"): "INVALID_VALUE"
    default: "DATABASE_ERROR"
    }
  }

  /// The message a record that failed with this error reports: the primary message and, when
  /// there is one, the detail, cut short because a detail such as `Failing row contains (…)`
  /// repeats the whole row.
  package var recordMessage: String {
    guard let detail = self.detail, !detail.isEmpty else { return self.message }
    let limit = 500
    let shortened = detail.count > limit ? detail.prefix(limit) + "…" : Substring(detail)
    return "\(self.message): \(shortened)"
  }

  /// admin_shutdown, crash_shutdown, cannot_connect_now.
  private static let connectionFailureStates: Set<String> = ["57P01", "57P02", "57P03"]
}
