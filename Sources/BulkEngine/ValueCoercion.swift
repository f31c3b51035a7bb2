internal import BulkCore
internal import Foundation

/// Checks an uploaded value against its column's type before it reaches the database, and puts
/// it in the form the warehouses bind. Values that cannot be right fail their record here with
/// `INVALID_VALUE`, which matters most for SQLite, whose columns would otherwise take anything.
enum ValueCoercion {
  /// The value for `column`, or the record's failure.
  static func coerce(_ value: FieldValue, for column: ColumnDescription) -> Result<FieldValue, RecordFailure> {
    switch (column.type, value) {
    case (_, .null):
      return .success(.null)
    case (.integer, .integer), (.double, .double), (.double, .integer), (.boolean, .bool), (.bytes, .bytes),
      (.timestamp, .timestamp):
      return .success(value)
    case (.integer, .text(let text)), (.integer, .number(let text)):
      guard let integer = Int64(Self.trimmed(text)) else {
        return Self.invalid(text, column, "an integer")
      }
      return .success(.integer(integer))
    case (.integer, .double(let double)):
      guard double.rounded() == double, let integer = Int64(exactly: double) else {
        return Self.invalid(String(double), column, "an integer")
      }
      return .success(.integer(integer))
    case (.double, .text(let text)), (.double, .number(let text)):
      guard let double = Double(Self.trimmed(text)), double.isFinite || text.contains("inf")
      else {
        return Self.invalid(text, column, "a number")
      }
      return .success(.double(double))
    case (.decimal, .text(let text)), (.decimal, .number(let text)):
      let trimmed = Self.trimmed(text)
      guard Self.isDecimal(trimmed) else { return Self.invalid(text, column, "a decimal number") }
      return .success(.number(trimmed))
    case (.decimal, .integer(let integer)):
      return .success(.number(String(integer)))
    case (.decimal, .double(let double)):
      return .success(.number(String(double)))
    case (.boolean, .text(let text)):
      switch Self.trimmed(text).lowercased() {
      case "true", "t", "1", "yes", "y": return .success(.bool(true))
      case "false", "f", "0", "no", "n": return .success(.bool(false))
      default: return Self.invalid(text, column, "true or false")
      }
    case (.boolean, .integer(let integer)) where integer == 0 || integer == 1:
      return .success(.bool(integer == 1))
    case (.date, .text(let text)):
      let trimmed = Self.trimmed(text)
      guard Self.isDate(trimmed) else {
        return Self.invalid(text, column, "a date (YYYY-MM-DD)")
      }
      return .success(.text(trimmed))
    case (.timestamp, .text(let text)):
      let trimmed = Self.trimmed(text)
      guard Self.isTimestamp(trimmed) else {
        return Self.invalid(text, column, "a timestamp (ISO 8601, e.g. 2024-06-01T12:30:00Z)")
      }
      return .success(.text(trimmed))
    case (.text, _), (.json, _), (.other, _), (.bytes, .text):
      return .success(value)
    default:
      return .failure(
        RecordFailure(
          code: "INVALID_VALUE",
          message: "column \(column.name) (\(column.declaredType)) cannot take \(Self.kind(of: value))"
        )
      )
    }
  }

  private static func invalid(
    _ text: String,
    _ column: ColumnDescription,
    _ expected: String
  ) -> Result<FieldValue, RecordFailure> {
    let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
    return .failure(
      RecordFailure(
        code: "INVALID_VALUE",
        message: "column \(column.name) (\(column.declaredType)): '\(shown)' is not \(expected)"
      )
    )
  }

  private static func kind(of value: FieldValue) -> String {
    switch value {
    case .null: "null"
    case .text: "text"
    case .number: "a number"
    case .integer: "an integer"
    case .double: "a floating-point number"
    case .bool: "a boolean"
    case .bytes: "bytes"
    case .timestamp: "a timestamp"
    }
  }

  /// `text` without the spaces and tabs (Unicode `Zs`) at either end. Values rarely have any,
  /// so a text whose first and last bytes are plain ASCII other than space and tab is returned
  /// as it is, without Foundation's trimming, which copies through UTF-16.
  static func trimmed(_ text: String) -> String {
    guard let first = text.utf8.first, let last = text.utf8.last else { return text }
    guard Self.isPlainEnd(first), Self.isPlainEnd(last) else { return text.trimmingCharacters(in: .whitespaces) }
    return text
  }

  /// `[+-]digits[.digits][e[+-]digits]`, or with the digits after the point only.
  static func isDecimal(_ text: String) -> Bool {
    Self.withBytes(text, Self.isDecimal)
  }

  private static func isDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
    let integer = Self.digits(bytes, from: &index)
    var fraction = 0
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      fraction = Self.digits(bytes, from: &index)
    }
    guard integer + fraction > 0 else { return false }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
      guard Self.digits(bytes, from: &index) > 0 else { return false }
    }
    return index == bytes.count
  }

  /// `YYYY-MM-DD` with a real month and day.
  static func isDate(_ text: String) -> Bool {
    Self.withBytes(text) { bytes in bytes.count == 10 && Self.isDate(bytes) }
  }

  /// A date, optionally followed by `T` or a space, `HH:MM[:SS[.fraction]]` and a zone (`Z`,
  /// `±HH`, `±HH:MM`, `±HHMM`).
  static func isTimestamp(_ text: String) -> Bool {
    Self.withBytes(text, Self.isTimestamp)
  }

  private static func isTimestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= 10, Self.isDate(UnsafeBufferPointer(rebasing: bytes[..<10])) else { return false }
    guard bytes.count > 10 else { return true }
    guard bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " ") else { return false }
    // The time runs up to the zone's first byte.
    var zoneStart = 11
    while zoneStart < bytes.count, !Self.isZoneStart(bytes[zoneStart]) { zoneStart += 1 }
    var clockEnd = 11
    while clockEnd < zoneStart, bytes[clockEnd] != UInt8(ascii: ".") { clockEnd += 1 }
    // HH:MM or HH:MM:SS.
    let clockLength = clockEnd - 11
    guard clockLength == 5 || clockLength == 8 else { return false }
    guard let hour = Self.twoDigits(bytes, at: 11), hour < 24, bytes[13] == UInt8(ascii: ":"),
      let minute = Self.twoDigits(bytes, at: 14), minute < 60
    else { return false }
    if clockLength == 8 {
      guard bytes[16] == UInt8(ascii: ":"), let second = Self.twoDigits(bytes, at: 17), second < 61 else {
        return false
      }
    }
    if clockEnd < zoneStart {
      var index = clockEnd + 1
      guard Self.digits(bytes, from: &index) == zoneStart - clockEnd - 1 else { return false }
    }
    let zone = zoneStart ..< bytes.count
    if zone.isEmpty || (zone.count == 1 && bytes[zoneStart] == UInt8(ascii: "Z")) { return true }
    // A sign, then HH, HHMM or HH:MM.
    var offsetDigits = 0
    for index in zone.dropFirst() {
      if Self.isDigit(bytes[index]) {
        offsetDigits += 1
      } else if bytes[index] != UInt8(ascii: ":") {
        return false
      }
    }
    return offsetDigits == 2 || offsetDigits == 4
  }

  /// Whether `coerce` certainly takes the CSV field whose value is `bytes` (no doubled quotes)
  /// for `column`, told from the bytes alone, without making a `String`: the same checks, on the
  /// same bytes. False when it would fail, and when only `coerce` can tell: a value with spaces
  /// or non-ASCII bytes at either end (which it trims as Unicode does), a `double` written other
  /// than as a short decimal.
  static func acceptsPlainly(_ bytes: UnsafeRawBufferPointer, for column: ColumnDescription) -> Bool {
    let bytes = bytes.assumingMemoryBound(to: UInt8.self)
    // An empty value is NULL, which every column takes.
    guard let first = bytes.first, let last = bytes.last else { return true }
    let plainEnds = Self.isPlainEnd(first) && Self.isPlainEnd(last)
    switch column.type {
    case .text, .json, .other, .bytes:
      return true
    case .integer:
      return plainEnds && Self.isInt64(bytes)
    case .double:
      // Finite for certain: at most 300 bytes and no exponent.
      return plainEnds && bytes.count <= 300 && !bytes.contains { $0 | 0x20 == UInt8(ascii: "e") }
        && Self.isDecimal(bytes)
    case .decimal:
      return plainEnds && Self.isDecimal(bytes)
    case .boolean:
      let words = ["true", "t", "1", "yes", "y", "false", "f", "0", "no", "n"]
      return plainEnds
        && words.contains { word in
          word.utf8.count == bytes.count
            && zip(word.utf8, bytes).allSatisfy { $0 == (UInt8(ascii: "A") ... UInt8(ascii: "Z") ~= $1 ? $1 | 0x20 : $1) }
        }
    case .date:
      return plainEnds && bytes.count == 10 && Self.isDate(bytes)
    case .timestamp:
      return plainEnds && Self.isTimestamp(bytes)
    }
  }

  /// Whether a value may start or end with `byte` and need no trimming: ASCII other than space
  /// and tab (`trimmed` trims Unicode `Zs`, whose UTF-8 bytes are never ASCII but those two).
  private static func isPlainEnd(_ byte: UInt8) -> Bool {
    byte < 0x80 && byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t")
  }

  /// What `Int64(String)` takes: an optional sign, then decimal digits, within range.
  private static func isInt64(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    let negative = bytes[0] == UInt8(ascii: "-")
    if negative || bytes[0] == UInt8(ascii: "+") { index = 1 }
    guard index < bytes.count else { return false }
    // Accumulated negative, whose range reaches Int64.min.
    var value: Int64 = 0
    while index < bytes.count {
      guard Self.isDigit(bytes[index]) else { return false }
      let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
      let (next, overflowMinus) = times.subtractingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
      guard !overflowTimes, !overflowMinus else { return false }
      value = next
      index += 1
    }
    return negative || value != Int64.min
  }

  /// `YYYY-MM-DD` in exactly ten bytes.
  private static func isDate(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
      let century = Self.twoDigits(bytes, at: 0), let yearInCentury = Self.twoDigits(bytes, at: 2),
      let month = Self.twoDigits(bytes, at: 5), let day = Self.twoDigits(bytes, at: 8), (1 ... 12).contains(month)
    else { return false }
    let year = century * 100 + yearInCentury
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return (1 ... days[month - 1]).contains(day)
  }

  /// The two ASCII digits at `index` as a number, or `nil`.
  private static func twoDigits(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
    guard index + 1 < bytes.count, Self.isDigit(bytes[index]), Self.isDigit(bytes[index + 1]) else { return nil }
    return Int(bytes[index] - UInt8(ascii: "0")) * 10 + Int(bytes[index + 1] - UInt8(ascii: "0"))
  }

  /// Moves `index` past the ASCII digits there; how many it passed.
  private static func digits(_ bytes: UnsafeBufferPointer<UInt8>, from index: inout Int) -> Int {
    let start = index
    while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
    return index - start
  }

  /// `Z`, `+` or `-`: where a timestamp's zone starts.
  private static func isZoneStart(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "Z") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
  }

  private static func isDigit(_ byte: UInt8) -> Bool {
    byte &- UInt8(ascii: "0") < 10
  }

  /// Calls `body` with the text's UTF-8 bytes, in place for native strings.
  private static func withBytes(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
    if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
    return Array(text.utf8).withUnsafeBufferPointer(body)
  }
}

/// Why one record failed: a stable code and a readable reason.
///
/// Internal to the engine: it becomes the record's failed outcome, never a call's error.
struct RecordFailure: Error, Hashable, Sendable {
  var code: String
  var message: String

  var outcome: RecordOutcome { .failed(code: self.code, message: self.message) }
}
