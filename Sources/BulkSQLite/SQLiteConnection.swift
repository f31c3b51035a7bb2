internal import BulkCore
internal import CSQLite
internal import Foundation

/// An error reported by SQLite, with its result code and message.
///
/// Internal: a catalog call turns it into an `UNAVAILABLE` `BulkError` whose cause it is; the
/// embedded warehouse's become a record's outcome or a job's `error_message`.
package struct SQLiteError: Error, CustomStringConvertible {
  package var code: Int32
  package var message: String

  package var description: String { "SQLite error \(self.code): \(self.message)" }
}

/// One open SQLite database connection.
///
/// This type alone owns the `sqlite3` handle and closes it in `deinit`. It is not thread safe:
/// its owner confines it to one serial queue, which is why it is `@unchecked Sendable`.
package final class SQLiteConnection: @unchecked Sendable {
  private let handle: OpaquePointer
  /// The sandbox whose callbacks are installed, kept alive as long as they may be called.
  private var sandbox: SQLiteSandbox?

  /// Opens (creating if needed, with mode 0600) the database at `path`; with `readOnly`, opens
  /// an existing database for reading only.
  package init(path: String, readOnly: Bool = false) throws {
    if !readOnly {
      // SQLite would create the file 0644 less the umask; an empty file is an empty database.
      try PrivateFile.create(path)
    }
    // The allocator can only be chosen before SQLite starts, which the first open does.
    _ = SQLiteMemoryBudget.isInstalled
    var handle: OpaquePointer?
    let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
    let status = sqlite3_open_v2(path, &handle, flags, nil)
    guard status == SQLITE_OK, let handle else {
      let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open \(path)"
      sqlite3_close_v2(handle)
      throw SQLiteError(code: status, message: message)
    }
    self.handle = handle
    sqlite3_extended_result_codes(handle, 1)
  }

  deinit {
    sqlite3_close_v2(self.handle)
  }

  /// Runs one or more statements that return no rows.
  package func execute(_ sql: String) throws {
    var errorMessage: UnsafeMutablePointer<CChar>?
    let status = sqlite3_exec(self.handle, sql, nil, nil, &errorMessage)
    guard status == SQLITE_OK else {
      let message = errorMessage.map { String(cString: $0) } ?? "unknown error"
      sqlite3_free(errorMessage)
      throw SQLiteError(code: status, message: message)
    }
  }

  /// Compiles one statement.
  package func prepare(_ sql: String) throws -> SQLiteStatement {
    var statement: OpaquePointer?
    let status = sqlite3_prepare_v2(self.handle, sql, -1, &statement, nil)
    guard status == SQLITE_OK, let statement else { throw self.error(status) }
    return SQLiteStatement(handle: statement, connection: self)
  }

  /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`), rolling back when it throws.
  package func transaction<T>(_ body: () throws -> T) throws -> T {
    try self.execute("BEGIN IMMEDIATE")
    do {
      let result = try body()
      try self.execute("COMMIT")
      return result
    } catch {
      try? self.execute("ROLLBACK")
      throw error
    }
  }

  /// Confines the statements prepared from now on to what `sandbox` allows, and interrupts them
  /// when it says so: an authorizer asked at every prepare and a progress handler called every
  /// thousand virtual machine steps.
  func install(_ sandbox: SQLiteSandbox) {
    self.sandbox = sandbox
    let context = Unmanaged.passUnretained(sandbox).toOpaque()
    sqlite3_set_authorizer(
      self.handle,
      { context, action, first, second, database, _ in
        let sandbox = Unmanaged<SQLiteSandbox>.fromOpaque(context!).takeUnretainedValue()
        return sandbox.authorize(
          action: action,
          first: first.map { String(cString: $0) },
          second: second.map { String(cString: $0) },
          database: database.map { String(cString: $0) }
        ) ? SQLITE_OK : SQLITE_DENY
      },
      context
    )
    sqlite3_progress_handler(
      self.handle,
      1000,
      { context in
        Unmanaged<SQLiteSandbox>.fromOpaque(context!).takeUnretainedValue().shouldInterrupt() ? 1 : 0
      },
      context
    )
  }

  /// Lowers one of SQLite's run-time limits (`SQLITE_LIMIT_…`) for this connection.
  func limit(_ category: Int32, to value: Int32) {
    sqlite3_limit(self.handle, category, value)
  }

  /// Rows changed by the last statement.
  package var changes: Int { Int(sqlite3_changes(self.handle)) }

  /// The rowid of the last inserted row.
  package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(self.handle) }

  fileprivate func error(_ status: Int32) -> SQLiteError {
    SQLiteError(code: status, message: String(cString: sqlite3_errmsg(self.handle)))
  }
}

/// A compiled statement of a `SQLiteConnection`, used on that connection's queue only.
package final class SQLiteStatement {
  private let handle: OpaquePointer
  private let connection: SQLiteConnection

  fileprivate init(handle: OpaquePointer, connection: SQLiteConnection) {
    self.handle = handle
    self.connection = connection
  }

  deinit {
    sqlite3_finalize(self.handle)
  }

  /// A value bound to a parameter.
  package enum Value {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
  }

  /// Binds `values` to the parameters `?1`, `?2`, … in order.
  @discardableResult
  package func bind(_ values: [Value]) throws -> SQLiteStatement {
    sqlite3_reset(self.handle)
    sqlite3_clear_bindings(self.handle)
    for (offset, value) in values.enumerated() {
      let index = Int32(offset + 1)
      let status: Int32
      switch value {
      case .null:
        status = sqlite3_bind_null(self.handle, index)
      case .integer(let integer):
        status = sqlite3_bind_int64(self.handle, index, integer)
      case .double(let double):
        status = sqlite3_bind_double(self.handle, index, double)
      case .text(let text):
        status = sqlite3_bind_text(self.handle, index, text, -1, Self.transient)
      case .blob(let bytes):
        status = bytes.withUnsafeBytes { raw in
          sqlite3_bind_blob(self.handle, index, raw.baseAddress, Int32(raw.count), Self.transient)
        }
      }
      guard status == SQLITE_OK else { throw self.connection.error(status) }
    }
    return self
  }

  /// Binds values of record `record` of `rows` to the parameters `?1`, `?2`, …: the value of
  /// column `columns[0]`, `columns[1]`, and so on.
  @discardableResult
  func bind(record: Int, of rows: SQLiteRows.Binder, columns: [Int]) throws -> SQLiteStatement {
    sqlite3_reset(self.handle)
    for (offset, column) in columns.enumerated() {
      let status = rows.bind(record: record, column: column, to: self.handle, parameter: Int32(offset + 1))
      guard status == SQLITE_OK else { throw self.connection.error(status) }
    }
    return self
  }

  /// Unbinds every parameter (binds NULL), so the statement keeps no pointer to bound values.
  func clearBindings() {
    sqlite3_reset(self.handle)
    sqlite3_clear_bindings(self.handle)
  }

  /// Advances to the next row; `false` when the statement is done.
  package func step() throws -> Bool {
    let status = sqlite3_step(self.handle)
    switch status {
    case SQLITE_ROW: return true
    case SQLITE_DONE: return false
    default: throw self.connection.error(status)
    }
  }

  /// Runs a statement that returns no rows.
  package func run() throws {
    while try self.step() {}
  }

  package func int64(_ column: Int32) -> Int64 {
    sqlite3_column_int64(self.handle, column)
  }

  package func text(_ column: Int32) -> String {
    guard let pointer = sqlite3_column_text(self.handle, column) else { return "" }
    return String(cString: pointer)
  }

  /// The value of a column of the current row, typed as SQLite stored it.
  package func value(_ column: Int32) -> Value {
    switch sqlite3_column_type(self.handle, column) {
    case SQLITE_INTEGER: return .integer(sqlite3_column_int64(self.handle, column))
    case SQLITE_FLOAT: return .double(sqlite3_column_double(self.handle, column))
    case SQLITE_TEXT: return .text(self.text(column))
    case SQLITE_BLOB:
      let count = Int(sqlite3_column_bytes(self.handle, column))
      guard count > 0, let pointer = sqlite3_column_blob(self.handle, column) else { return .blob([]) }
      return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
    default: return .null
    }
  }

  /// The declared type of a result column that is a table column, empty for an expression.
  package func declaredType(_ column: Int32) -> String {
    sqlite3_column_decltype(self.handle, column).map { String(cString: $0) } ?? ""
  }

  /// Whether the statement leaves the database unchanged.
  package var isReadOnly: Bool { sqlite3_stmt_readonly(self.handle) != 0 }

  /// The number of columns of the statement's rows.
  package var columnCount: Int32 { sqlite3_column_count(self.handle) }

  /// The name of a result column.
  package func columnName(_ column: Int32) -> String {
    sqlite3_column_name(self.handle, column).map { String(cString: $0) } ?? ""
  }

  package func isNull(_ column: Int32) -> Bool {
    sqlite3_column_type(self.handle, column) == SQLITE_NULL
  }

  /// SQLite copies the bound bytes (`SQLITE_TRANSIENT`).
  private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
