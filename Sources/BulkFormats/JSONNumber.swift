/// The JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
enum JSONNumber {
  /// The outcome of scanning a number.
  enum Scan {
    /// A number ends before this index.
    case valid(end: Int)
    /// The byte at this index breaks the grammar (or the bytes end there).
    case invalid(at: Int, reason: String)
  }

  /// Scans the number that starts at `start`.
  static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Scan {
    var index = start
    func digit(at position: Int) -> Bool {
      position < bytes.count && ASCII.isDigit(bytes[position])
    }
    if index < bytes.count && bytes[index] == ASCII.minus {
      index += 1
    }
    guard digit(at: index) else { return .invalid(at: index, reason: "expected a digit in a number") }
    if bytes[index] == ASCII.zero {
      index += 1
      if digit(at: index) {
        return .invalid(at: index, reason: "a number may not have a leading zero")
      }
    } else {
      while digit(at: index) { index += 1 }
    }
    if index < bytes.count && bytes[index] == ASCII.period {
      index += 1
      guard digit(at: index) else { return .invalid(at: index, reason: "expected a digit after '.' in a number") }
      while digit(at: index) { index += 1 }
    }
    if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
      index += 1
      if index < bytes.count && (bytes[index] == ASCII.plus || bytes[index] == ASCII.minus) {
        index += 1
      }
      guard digit(at: index) else { return .invalid(at: index, reason: "expected a digit in a number's exponent") }
      while digit(at: index) { index += 1 }
    }
    return .valid(end: index)
  }

  /// Whether `literal` is exactly one JSON number.
  static func isValid(_ literal: String) -> Bool {
    var literal = literal
    return literal.withUTF8 { bytes in
      if case .valid(let end) = Self.scan(UnsafeRawBufferPointer(bytes), from: 0) {
        return end == bytes.count
      }
      return false
    }
  }
}
