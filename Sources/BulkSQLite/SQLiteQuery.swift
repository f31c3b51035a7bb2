internal import BulkCore
internal import CSQLite
internal import Foundation

/// A query job's statement on a tenant's SQLite file: opened read-only on a connection of its
/// own, confined by a `SQLiteSandbox`, its rows handed to the sink in batches as they are read.
struct SQLiteQuery {
  /// Rows per batch handed to the sink, at most.
  static let batchRows = 1000
  /// Bytes of values per batch handed to the sink, about: a batch ends after the row that
  /// reaches them, so rows of large values are not held a thousand at a time.
  static let batchBytes = 4 << 20
  /// The largest string or blob a query may read or make (`SQLITE_LIMIT_LENGTH`): 64 MiB, the
  /// longest record a load accepts, so whatever was loaded reads back, while `randomblob`,
  /// `zeroblob`, `printf` or a doubling recursive query cannot make one value of gigabytes.
  static let maxValueBytes: Int32 = 64 << 20
  /// The SQLite memory one query may hold (`SQLiteMemoryBudget`): 256 MiB, room for a few
  /// values of the largest size; a row of many large values is refused past it.
  static let maxMemoryBytes: Int64 = 256 << 20

  let path: String
  let statement: String
  let request: QueryRequest
  let sink: any QueryRowSink

  /// Runs the statement; blocks the calling thread.
  func run() throws -> Int64 {
    guard FileManager.default.fileExists(atPath: self.path) else {
      throw BulkError.queryRefused("the query failed: the tenant has no tables")
    }
    return try SQLiteMemoryBudget.run(bytes: Self.maxMemoryBytes) { try self.runWithinBudget() }
  }

  private func runWithinBudget() throws -> Int64 {
    let connection = try SQLiteConnection(path: self.path, readOnly: true)
    try connection.execute("PRAGMA busy_timeout = 5000")
    connection.limit(SQLITE_LIMIT_LENGTH, to: Self.maxValueBytes)
    // No database can be attached, whatever reaches past the authorizer (`VACUUM INTO` too).
    connection.limit(SQLITE_LIMIT_ATTACHED, to: 0)
    // The JSON table-valued functions are the useful ones; using them once here, before the
    // sandbox, keeps the sandbox from seeing SQLite record them in the schema.
    _ = try connection.prepare("SELECT * FROM json_each('[]'), json_tree('[]')")
    let sandbox = SQLiteSandbox(timeout: self.request.timeout, cancellation: self.request.cancellation)
    connection.install(sandbox)

    let prepared: SQLiteStatement
    do {
      prepared = try connection.prepare(self.statement)
    } catch let error as SQLiteError {
      // SQLite reports a refused function as a plain error ("not authorized to use function").
      if let refusal = sandbox.refusal {
        throw BulkError.queryRefused(refusal)
      }
      throw BulkError.queryRefused("the query failed: \(Self.reason(error))")
    }
    guard prepared.isReadOnly else {
      throw BulkError.queryRefused("the query may only read, but this statement writes")
    }
    let columns = (0 ..< prepared.columnCount).map { column in
      QueryColumn(name: prepared.columnName(column), type: SQLiteCatalog.columnType(prepared.declaredType(column)))
    }
    try self.sink.columns(columns)

    var rows: Int64 = 0
    var batch: [[FieldValue]] = []
    var batchBytes = 0
    batch.reserveCapacity(Self.batchRows)
    do {
      while try prepared.step() {
        batch.append(
          columns.indices.map { column in
            let value = prepared.value(Int32(column))
            batchBytes += Self.size(of: value)
            return Self.value(value, type: columns[column].type)
          }
        )
        if batch.count == Self.batchRows || batchBytes >= Self.batchBytes {
          try self.sink.rows(.values(batch))
          rows += Int64(batch.count)
          batch.removeAll(keepingCapacity: true)
          batchBytes = 0
        }
      }
    } catch let error as SQLiteError {
      if error.code == SQLITE_INTERRUPT {
        throw BulkError.queryCancelled(sandbox.interruption, timeout: self.request.timeout)
      }
      throw BulkError.queryRefused("the query failed after \(rows + Int64(batch.count)) rows: \(Self.reason(error))")
    }
    if !batch.isEmpty {
      try self.sink.rows(.values(batch))
      rows += Int64(batch.count)
    }
    return rows
  }

  /// SQLite's message, with the limit named when the query went past one.
  private static func reason(_ error: SQLiteError) -> String {
    switch error.code & 0xFF {
    case SQLITE_TOOBIG:
      return
        "\(error.message): a value would be larger than the \(Self.maxValueBytes) bytes (64 MiB) a query may read or make"
    case SQLITE_NOMEM:
      return
        "\(error.message): the query would hold more than the \(Self.maxMemoryBytes) bytes (256 MiB) of memory one query may"
    default:
      return error.message
    }
  }

  /// About how many bytes a value takes.
  private static func size(of value: SQLiteStatement.Value) -> Int {
    switch value {
    case .text(let text): text.utf8.count
    case .blob(let bytes): bytes.count
    case .null, .integer, .double: 8
    }
  }

  /// A value as SQLite stored it, refined by the column's declared type: booleans stored as
  /// integers, timestamps stored as ISO 8601 text.
  static func value(_ value: SQLiteStatement.Value, type: ColumnType) -> FieldValue {
    switch value {
    case .null:
      return .null
    case .integer(let integer):
      return type == .boolean && (integer == 0 || integer == 1) ? .bool(integer == 1) : .integer(integer)
    case .double(let double):
      return .double(double)
    case .text(let text):
      if type == .timestamp, let date = FieldValue.timestamp(parsing: text) {
        return .timestamp(date)
      }
      return .text(text)
    case .blob(let bytes):
      return .bytes(bytes)
    }
  }
}
