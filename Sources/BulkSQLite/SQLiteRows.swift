internal import BulkCore
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
