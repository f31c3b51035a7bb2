internal import BulkCore
internal import BulkFormats
internal import CSQLite

/// A chunk's values in the form SQLite binds them: integers and doubles as they are, text and
/// blobs as ranges of one byte buffer.
///
/// It is built before the chunk waits for its tenant's connection, whose queue is the one writer
/// of the file: that queue then only binds and steps, and binds text in place (`SQLITE_STATIC`)
/// instead of converting and copying every value.
struct SQLiteRows: Sendable {
  enum Kind: UInt8 {
    case null, integer, double, text, blob
  }

  /// Values per record.
  let width: Int
  private var kinds: [Kind] = []
  /// Per value: the integer, the double's bit pattern, or where the text or blob starts in `bytes`.
  private var scalars: [Int64] = []
  /// Per value: the byte length of the text or blob.
  private var lengths: [Int32] = []
  /// Every text and blob, one after the other. It starts with one byte that no value uses, so its
  /// base address is never `nil` (SQLite would bind a `nil` text as NULL, not as '').
  private var bytes: [UInt8] = [0]

  /// The records' values; each record has `width` of them.
  init(_ records: [ChunkRecord], width: Int) {
    self.width = width
    let values = records.count * width
    self.kinds.reserveCapacity(values)
    self.scalars.reserveCapacity(values)
    self.lengths.reserveCapacity(values)
    self.bytes.reserveCapacity(values * 16)
    for record in records {
      precondition(
        record.values.count == width,
        "record \(record.number) has \(record.values.count) values, not \(width)"
      )
      for value in record.values {
        self.append(value)
      }
    }
  }

  /// The values of an insert's records as uploaded (`ChunkWork.csv`), each made what the engine's
  /// checks make of it for its column's type (`ValueCoercion.coerce`), so that they bind as the
  /// same records given as values would: an empty value is NULL; an integer column's value an
  /// integer, a double column's a double, a boolean's 1 or 0; a decimal as its literal reads;
  /// anything else text, doubled quotes undone.
  ///
  /// - Throws: `CSVRecordsRefused` when the CSV is not the checked records it should be.
  init(csv: CSVRecords, columns: [ColumnDescription]) throws {
    self.width = columns.count
    let values = csv.count * columns.count
    self.kinds.reserveCapacity(values)
    self.scalars.reserveCapacity(values)
    self.lengths.reserveCapacity(values)
    self.bytes.reserveCapacity(csv.bytes.count)
    let read = CSVSpanReader.read(csv.bytes, delimiter: csv.delimiter, columns: columns.count) {
      record in
      (0 ..< record.count).allSatisfy { index in
        self.append(record.field(index), doubledQuotes: record.hasDoubledQuotes(index), for: columns[index].type)
      }
    }
    guard read == csv.count else {
      throw CSVRecordsRefused("the CSV does not hold the \(csv.count) checked records of \(columns.count) values it should")
    }
  }

  /// Appends a CSV value for a column of `type`; false when it is not one the checks take.
  private mutating func append(_ field: UnsafeRawBufferPointer, doubledQuotes: Bool, for type: ColumnType) -> Bool {
    guard !field.isEmpty else {
      self.append(.null, 0)
      return true
    }
    switch type {
    case .integer:
      guard let integer = Int64(String(decoding: field, as: UTF8.self)) else { return false }
      self.append(.integer, integer)
    case .double:
      guard let double = Double(String(decoding: field, as: UTF8.self)) else { return false }
      self.append(.double, Int64(bitPattern: double.bitPattern))
    case .decimal:
      self.append(.number(String(decoding: field, as: UTF8.self)))
    case .boolean:
      switch field[0] | 0x20 {
      case UInt8(ascii: "t"), UInt8(ascii: "y"), UInt8(ascii: "1"): self.append(.integer, 1)
      case UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "0"): self.append(.integer, 0)
      default: return false
      }
    case .text, .date, .timestamp, .bytes, .json, .other:
      guard doubledQuotes else {
        self.append(.text, field)
        return true
      }
      var unescaped: [UInt8] = []
      unescaped.reserveCapacity(field.count)
      var previousWasQuote = false
      for byte in field {
        if byte == UInt8(ascii: "\"") && previousWasQuote {
          previousWasQuote = false
          continue
        }
        previousWasQuote = byte == UInt8(ascii: "\"")
        unescaped.append(byte)
      }
      self.append(.text, unescaped)
    }
    return true
  }

  /// How many records the rows hold.
  var count: Int { self.width == 0 ? 0 : self.kinds.count / self.width }

  private mutating func append(_ value: FieldValue) {
    switch value {
    case .null: self.append(.null, 0)
    case .text(let text): self.append(.text, text.utf8)
    case .number(let literal):
      if let integer = Int64(literal) {
        self.append(.integer, integer)
      } else if let double = Double(literal) {
        self.append(.double, Int64(bitPattern: double.bitPattern))
      } else {
        self.append(.text, literal.utf8)
      }
    case .integer(let integer): self.append(.integer, integer)
    case .double(let double): self.append(.double, Int64(bitPattern: double.bitPattern))
    case .bool(let bool): self.append(.integer, bool ? 1 : 0)
    case .bytes(let bytes): self.append(.blob, bytes)
    case .timestamp(let date): self.append(.text, FieldValue.iso8601(date).utf8)
    }
  }

  private mutating func append(_ kind: Kind, _ scalar: Int64) {
    self.kinds.append(kind)
    self.scalars.append(scalar)
    self.lengths.append(0)
  }

  private mutating func append(_ kind: Kind, _ content: String.UTF8View) {
    if let appended: Void = content.withContiguousStorageIfAvailable({ self.append(kind, $0) }) {
      return appended
    }
    self.append(kind, Array(content))
  }

  private mutating func append(_ kind: Kind, _ content: some Collection<UInt8>) {
    self.kinds.append(kind)
    self.scalars.append(content.isEmpty ? 0 : Int64(self.bytes.count))
    self.lengths.append(Int32(clamping: content.count))
    self.bytes.append(contentsOf: content)
  }

  /// Calls `body` with a binder of these rows, which is valid only inside `body`.
  func withBinder<Result>(_ body: (Binder) throws -> Result) rethrows -> Result {
    try self.kinds.withUnsafeBufferPointer { kinds in
      try self.scalars.withUnsafeBufferPointer { scalars in
        try self.lengths.withUnsafeBufferPointer { lengths in
          try self.bytes.withUnsafeBufferPointer { bytes in
            try body(Binder(width: self.width, kinds: kinds, scalars: scalars, lengths: lengths, bytes: bytes))
          }
        }
      }
    }
  }

  /// Binds the values of `SQLiteRows` without copying or retaining anything. SQLite reads text and
  /// blobs where they are (a `nil` destructor is `SQLITE_STATIC`), so a statement bound by a
  /// binder must have its bindings cleared before `withBinder` returns.
  struct Binder {
    let width: Int
    let kinds: UnsafeBufferPointer<Kind>
    let scalars: UnsafeBufferPointer<Int64>
    let lengths: UnsafeBufferPointer<Int32>
    let bytes: UnsafeBufferPointer<UInt8>

    /// Binds value `column` of record `record` to `parameter` of `statement`; SQLite's status.
    func bind(record: Int, column: Int, to statement: OpaquePointer, parameter: Int32) -> Int32 {
      let index = record * self.width + column
      let scalar = self.scalars[index]
      switch self.kinds[index] {
      case .null:
        return sqlite3_bind_null(statement, parameter)
      case .integer:
        return sqlite3_bind_int64(statement, parameter, scalar)
      case .double:
        return sqlite3_bind_double(statement, parameter, Double(bitPattern: UInt64(bitPattern: scalar)))
      case .text:
        let start = UnsafeRawPointer(self.bytes.baseAddress! + Int(scalar)).assumingMemoryBound(to: CChar.self)
        return sqlite3_bind_text(statement, parameter, start, self.lengths[index], nil)
      case .blob:
        return sqlite3_bind_blob(statement, parameter, self.bytes.baseAddress! + Int(scalar), self.lengths[index], nil)
      }
    }
  }
}
