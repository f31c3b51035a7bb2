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
      guard let integer = Int64(text.trimmingCharacters(in: .whitespaces)) else {
        return Self.invalid(text, column, "an integer")
      }
      return .success(.integer(integer))
    case (.integer, .double(let double)):
      guard double.rounded() == double, let integer = Int64(exactly: double) else {
        return Self.invalid(String(double), column, "an integer")
      }
      return .success(.integer(integer))
    case (.double, .text(let text)), (.double, .number(let text)):
      guard let double = Double(text.trimmingCharacters(in: .whitespaces)), double.isFinite || text.contains("inf")
      else {
        return Self.invalid(text, column, "a number")
      }
      return .success(.double(double))
    case (.decimal, .text(let text)), (.decimal, .number(let text)):
      let trimmed = text.trimmingCharacters(in: .whitespaces)
      guard Self.isDecimal(trimmed) else { return Self.invalid(text, column, "a decimal number") }
      return .success(.number(trimmed))
    case (.decimal, .integer(let integer)):
      return .success(.number(String(integer)))
    case (.decimal, .double(let double)):
      return .success(.number(String(double)))
    case (.boolean, .text(let text)):
      switch text.trimmingCharacters(in: .whitespaces).lowercased() {
      case "true", "t", "1", "yes", "y": return .success(.bool(true))
      case "false", "f", "0", "no", "n": return .success(.bool(false))
      default: return Self.invalid(text, column, "true or false")
      }
    case (.boolean, .integer(let integer)) where integer == 0 || integer == 1:
      return .success(.bool(integer == 1))
    case (.date, .text(let text)):
      guard Self.isDate(Substring(text.trimmingCharacters(in: .whitespaces))) else {
        return Self.invalid(text, column, "a date (YYYY-MM-DD)")
      }
      return .success(.text(text.trimmingCharacters(in: .whitespaces)))
    case (.timestamp, .text(let text)):
      let trimmed = text.trimmingCharacters(in: .whitespaces)
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

  /// `[+-]digits[.digits][e[+-]digits]`, or with the digits after the point only.
  static func isDecimal(_ text: String) -> Bool {
    var bytes = Substring(text).utf8[...]
    if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    let integer = bytes.prefix { (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }
    bytes = bytes.dropFirst(integer.count)
    var fraction = 0
    if bytes.first == UInt8(ascii: ".") {
      bytes = bytes.dropFirst()
      let digits = bytes.prefix { (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }
      fraction = digits.count
      bytes = bytes.dropFirst(digits.count)
    }
    guard integer.count + fraction > 0 else { return false }
    if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
      bytes = bytes.dropFirst()
      if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
      let exponent = bytes.prefix { (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }
      guard !exponent.isEmpty else { return false }
      bytes = bytes.dropFirst(exponent.count)
    }
    return bytes.isEmpty
  }

  /// `YYYY-MM-DD` with a real month and day.
  static func isDate(_ text: Substring) -> Bool {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
      let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
    else { return false }
    let days = [
      31, (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    ]
    return (1 ... 12).contains(month) && (1 ... days[month - 1]).contains(day)
  }

  /// A date, optionally followed by `T` or a space, `HH:MM[:SS[.fraction]]` and a zone (`Z`,
  /// `±HH`, `±HH:MM`, `±HHMM`).
  static func isTimestamp(_ text: String) -> Bool {
    guard text.count >= 10 else { return false }
    let date = text.prefix(10)
    guard Self.isDate(date) else { return false }
    var rest = text.dropFirst(10)
    guard let separator = rest.first else { return true }
    guard separator == "T" || separator == " " else { return false }
    rest = rest.dropFirst()
    var time = rest.prefix { $0 != "Z" && $0 != "+" && $0 != "-" }
    let zone = rest.dropFirst(time.count)
    var fraction: Substring = ""
    if let dot = time.firstIndex(of: ".") {
      fraction = time[time.index(after: dot)...]
      time = time[..<dot]
    }
    let clock = time.split(separator: ":", omittingEmptySubsequences: false)
    guard (2 ... 3).contains(clock.count), clock.allSatisfy({ $0.count == 2 && Int($0) != nil }),
      let hour = Int(clock[0]), let minute = Int(clock[1]), hour < 24, minute < 60,
      clock.count == 2 || Int(clock[2])! < 61,
      fraction.allSatisfy(\.isNumber)
    else { return false }
    if zone.isEmpty || zone == "Z" { return true }
    let offset = zone.dropFirst().replacingOccurrences(of: ":", with: "")
    return (offset.count == 2 || offset.count == 4) && offset.allSatisfy(\.isNumber)
  }
}

/// Why one record failed: a stable code and a readable reason.
struct RecordFailure: Error, Hashable, Sendable {
  var code: String
  var message: String

  var outcome: RecordOutcome { .failed(code: self.code, message: self.message) }
}
