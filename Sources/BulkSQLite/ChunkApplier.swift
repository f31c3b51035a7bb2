internal import BulkCore
internal import CSQLite
internal import Foundation

/// Applies one chunk's records to a SQLite table inside the caller's transaction, one prepared
/// statement execution per record.
struct ChunkApplier {
  let work: ChunkWork
  /// The records' values, ready to bind.
  let rows: SQLiteRows
  let connection: SQLiteConnection

  func apply() throws -> [RecordOutcome] {
    try self.rows.withBinder { rows in try self.apply(rows) }
  }

  private func apply(_ rows: SQLiteRows.Binder) throws -> [RecordOutcome] {
    let table = Identifier.quoted(self.work.table.name)
    let columns = self.work.columns.map(Identifier.quoted)
    let key = Identifier.quoted(self.work.keyColumn)
    let keyIndex = self.work.columns.firstIndex(of: self.work.keyColumn)
    let placeholders = (1 ... max(columns.count, 1)).map { "?\($0)" }.joined(separator: ", ")
    let everyColumn = Array(self.work.columns.indices)
    let others = self.work.columns.enumerated().filter { $0.element != self.work.keyColumn }
    let records = 0 ..< self.rows.count

    switch self.work.operation {
    case .insert:
      let insert = try self.connection.prepare(
        "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
      )
      defer { insert.clearBindings() }
      return try records.map { record in
        try self.run(insert, record, of: rows, columns: everyColumn) { _ in .succeeded(created: true) }
      }
    case .update:
      guard let keyIndex else { return records.map { _ in Self.missingKey } }
      let assignments = others.enumerated().map { "\(Identifier.quoted($0.element.element)) = ?\($0.offset + 1)" }
      let update = try self.connection.prepare(
        "UPDATE \(table) SET \(assignments.joined(separator: ", ")) WHERE \(key) = ?\(others.count + 1)"
      )
      defer { update.clearBindings() }
      let bound = others.map(\.offset) + [keyIndex]
      return try records.map { record in
        try self.run(update, record, of: rows, columns: bound) { changes in
          changes == 0 ? self.notFound(record, keyIndex) : .succeeded(created: false)
        }
      }
    case .upsert:
      guard let keyIndex else { return records.map { _ in Self.missingKey } }
      let assignments = others.map { "\(Identifier.quoted($0.element)) = excluded.\(Identifier.quoted($0.element))" }
      let conflict = assignments.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(assignments.joined(separator: ", "))"
      let upsert = try self.connection.prepare(
        "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT (\(key)) \(conflict)"
      )
      defer { upsert.clearBindings() }
      let exists = try self.connection.prepare("SELECT 1 FROM \(table) WHERE \(key) = ?1 LIMIT 1")
      defer { exists.clearBindings() }
      return try records.map { record in
        let existed = try exists.bind(record: record, of: rows, columns: [keyIndex]).step()
        return try self.run(upsert, record, of: rows, columns: everyColumn) { _ in .succeeded(created: !existed) }
      }
    case .delete:
      guard let keyIndex else { return records.map { _ in Self.missingKey } }
      let delete = try self.connection.prepare("DELETE FROM \(table) WHERE \(key) = ?1")
      defer { delete.clearBindings() }
      return try records.map { record in
        try self.run(delete, record, of: rows, columns: [keyIndex]) { changes in
          changes == 0 ? self.notFound(record, keyIndex) : .succeeded(created: false)
        }
      }
    case .query:
      throw SQLiteError(code: 0, message: "query jobs do not apply chunks")
    }
  }

  /// Runs the statement for one record; a constraint or type error becomes the record's failure,
  /// anything else (a full disk, I/O) fails the chunk.
  private func run(
    _ statement: SQLiteStatement,
    _ record: Int,
    of rows: SQLiteRows.Binder,
    columns: [Int],
    outcome: (Int) -> RecordOutcome
  ) throws -> RecordOutcome {
    do {
      try statement.bind(record: record, of: rows, columns: columns).run()
      return outcome(self.connection.changes)
    } catch let error as SQLiteError {
      guard let code = Self.recordErrorCode(error.code) else { throw error }
      return .failed(code: code, message: error.message)
    }
  }

  private func notFound(_ record: Int, _ keyIndex: Int) -> RecordOutcome {
    let key = self.work.records[record].values[keyIndex]
    return .failed(code: "NOT_FOUND", message: "no row with \(self.work.keyColumn) = \(Self.display(key))")
  }

  private static let missingKey = RecordOutcome.failed(code: "INVALID_VALUE", message: "the record has no key value")

  /// The stable code of a SQLite extended result code that concerns one record, or `nil`.
  static func recordErrorCode(_ code: Int32) -> String? {
    switch code {
    case 2067, 1555: "DUPLICATE_KEY"  // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
    case 1299: "NOT_NULL"  // SQLITE_CONSTRAINT_NOTNULL
    case 787: "FOREIGN_KEY"  // SQLITE_CONSTRAINT_FOREIGNKEY
    case 275: "CHECK_VIOLATION"  // SQLITE_CONSTRAINT_CHECK
    case 3091, 20: "INVALID_VALUE"  // SQLITE_CONSTRAINT_DATATYPE, SQLITE_MISMATCH
    case SQLITE_TOOBIG: "VALUE_TOO_LONG"
    case _ where code & 0xFF == SQLITE_CONSTRAINT: "DATABASE_ERROR"
    default: nil
    }
  }

  private static func display(_ value: FieldValue) -> String {
    switch value {
    case .null: "NULL"
    case .text(let text), .number(let text): String(text.prefix(64))
    case .integer(let integer): String(integer)
    case .double(let double): String(double)
    case .bool(let bool): String(bool)
    case .bytes(let bytes): "\(bytes.count) bytes"
    case .timestamp(let date): date.formatted(.iso8601)
    }
  }
}
