internal import BulkCore
internal import BulkFormats

/// How a job's records map onto its table, decided once from the table and the upload's columns
/// before anything loads.
struct JobPlan: Sendable {
  let table: TableDescription
  /// The upload's columns, in upload order.
  let columns: [String]
  /// The column that matches records to rows (update, upsert, delete); empty for insert.
  let keyColumn: String
  /// The upload columns that are applied, in upload order (for delete: the key only).
  let appliedColumns: [String]
  /// For each applied column, its index in the upload's columns.
  let appliedIndexes: [Int]
  /// For each applied column, its description in the table.
  private let appliedDescriptions: [ColumnDescription]
  /// Where the key column is among the applied columns; `nil` for insert.
  private let keyIndex: Int?

  /// Checks the upload's columns against the table.
  ///
  /// - Throws: `JobFailure` naming the first problem: an unknown or repeated column, a missing or
  ///   unusable key.
  init(job: Job, table: TableDescription, columns: [String]) throws(JobFailure) {
    guard !columns.isEmpty else { throw JobFailure("the upload names no columns") }
    var seen = Set<String>()
    for (index, column) in columns.enumerated() {
      guard seen.insert(column).inserted else {
        throw JobFailure("column '\(column.prefix(64))' appears twice in the upload")
      }
      guard table.column(named: column) != nil else {
        throw JobFailure(
          "column '\(column.prefix(64))' (column \(index + 1) of the upload) is not a column of table \(table.name)"
        )
      }
    }
    self.table = table
    self.columns = columns

    switch job.operation {
    case .insert:
      self.keyColumn = ""
    case .update, .delete, .upsert:
      let key: String
      if !job.externalIDField.isEmpty {
        key = job.externalIDField
        guard table.column(named: key) != nil else {
          throw JobFailure("external_id_field '\(key)' is not a column of table \(table.name)")
        }
      } else {
        guard table.primaryKey.count == 1 else {
          throw JobFailure(
            "table \(table.name) has no single-column primary key; set external_id_field to the column that matches records"
          )
        }
        key = table.primaryKey[0]
      }
      guard columns.contains(key) else {
        throw JobFailure("the upload has no column \(key), which \(job.operation.rawValue) matches records on")
      }
      if job.operation == .upsert && !table.uniqueColumns.contains(key) {
        throw JobFailure("column \(key) of table \(table.name) is not unique; upsert needs a unique key column")
      }
      if job.operation == .update && columns.count == 1 {
        throw JobFailure("the upload has only the key column \(key): an update needs columns to set")
      }
      self.keyColumn = key
    case .query:
      throw JobFailure("query jobs do not load records")
    }
    self.appliedColumns = job.operation == .delete ? [self.keyColumn] : columns
    self.appliedIndexes = self.appliedColumns.map { columns.firstIndex(of: $0)! }
    self.appliedDescriptions = self.appliedColumns.map { table.column(named: $0)! }
    self.keyIndex = self.keyColumn.isEmpty ? nil : self.appliedColumns.firstIndex(of: self.keyColumn)
  }

  /// The record's values for the applied columns, checked against their types.
  func coerce(_ values: ParsedValues) -> Result<[FieldValue], RecordFailure> {
    switch values {
    case .fields(let fields): self.coerce { fields[$0].isEmpty ? .null : .text(fields[$0]) }
    case .values(let values): self.coerce { values[$0] }
    case .failure(let failure): .failure(failure)
    }
  }

  /// Whether `coerce` certainly takes the CSV record, told from its bytes (see
  /// `ValueCoercion.acceptsPlainly`), and the record has no value that a NOT NULL column refuses
  /// or that is longer than `maxValueBytes`.
  func acceptsPlainly(_ record: CSVSpanReader.Record, maxValueBytes: Int) -> Bool {
    for index in 0 ..< record.count where record.field(index).count > maxValueBytes {
      return false
    }
    for (description, index) in zip(self.appliedDescriptions, self.appliedIndexes) {
      let field = record.field(index)
      if field.isEmpty {
        guard description.nullable, index != self.keyIndex.map({ self.appliedIndexes[$0] }) else { return false }
      } else if !ValueCoercion.acceptsPlainly(field, for: description) {
        return false
      }
    }
    return true
  }

  /// - Parameter value: the record's value of an upload column, by its index.
  private func coerce(_ value: (Int) -> FieldValue) -> Result<[FieldValue], RecordFailure> {
    var coerced: [FieldValue] = []
    coerced.reserveCapacity(self.appliedIndexes.count)
    for (description, index) in zip(self.appliedDescriptions, self.appliedIndexes) {
      switch ValueCoercion.coerce(value(index), for: description) {
      case .success(let value): coerced.append(value)
      case .failure(let failure): return .failure(failure)
      }
    }
    if let keyIndex = self.keyIndex, coerced[keyIndex] == .null {
      return .failure(RecordFailure(code: "INVALID_VALUE", message: "the key column \(self.keyColumn) is empty"))
    }
    return .success(coerced)
  }
}

/// A problem that fails the whole job, with the message for `error_message`.
///
/// Internal to the engine: it never reaches a transport; the runner stores its message as the
/// job's `error_message`, which is also its description.
struct JobFailure: Error, Hashable, CustomStringConvertible {
  var message: String

  var description: String { self.message }

  init(_ message: String) {
    self.message = message
  }
}
