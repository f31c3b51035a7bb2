package import BulkCore
internal import Foundation

extension FieldValue {
  /// Appends the value in `COPY` text format: `\N` for null; text and numbers as written with
  /// backslash, tab, newline and carriage return escaped; integers and doubles in Swift's
  /// shortest round-tripping form; booleans as `t` / `f`; bytes as bytea hex (`\\x…`);
  /// timestamps as ISO 8601 in UTC with microseconds.
  package func appendCopyText(to buffer: inout [UInt8]) {
    switch self {
    case .null:
      buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
    case .text(let text), .number(let text):
      Self.appendEscaped(text, to: &buffer)
    case .integer(let integer):
      buffer.append(contentsOf: String(integer).utf8)
    case .double(let double):
      buffer.append(contentsOf: Self.text(of: double).utf8)
    case .bool(let bool):
      buffer.append(bool ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    case .bytes(let bytes):
      // The COPY escape `\\` is one backslash, so the value read is `\x…`, bytea's hex form.
      buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
      Hex.append(bytes, to: &buffer)
    case .timestamp(let date):
      buffer.append(contentsOf: Self.iso8601(date).utf8)
    }
  }

  /// The value as a person reads it in a message, at most 200 characters.
  package var displayText: String {
    let text: String
    switch self {
    case .null: text = "NULL"
    case .text(let value), .number(let value): text = value
    case .integer(let integer): text = String(integer)
    case .double(let double): text = Self.text(of: double)
    case .bool(let bool): text = bool ? "true" : "false"
    case .bytes(let bytes): text = "\\x" + Hex.string(bytes)
    case .timestamp(let date): text = Self.iso8601(date)
    }
    return text.count > 200 ? text.prefix(200) + "…" : text
  }

  private static func appendEscaped(_ text: String, to buffer: inout [UInt8]) {
    var text = text
    text.withUTF8 { bytes in
      // Most values need no escape: one copy of the whole value.
      guard bytes.contains(where: Self.needsEscape) else {
        buffer.append(contentsOf: bytes)
        return
      }
      for byte in bytes {
        switch byte {
        case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        default: buffer.append(byte)
        }
      }
    }
  }

  /// Backslash, tab, line feed and carriage return: the bytes COPY text format escapes.
  private static func needsEscape(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
  }

  /// PostgreSQL's spellings of the values Swift writes as `inf` and `nan`.
  private static func text(of double: Double) -> String {
    if double.isNaN { return "NaN" }
    if double.isInfinite { return double < 0 ? "-Infinity" : "Infinity" }
    return String(double)
  }

  /// `2024-01-05T09:00:00.000000Z`: microseconds, PostgreSQL's precision.
  private static func iso8601(_ date: Date) -> String {
    let microseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
    guard microseconds.magnitude < 1e17 else { return date.ISO8601Format() }
    let total = Int64(microseconds)
    let (seconds, fraction) = total.quotientAndRemainder(dividingBy: 1_000_000)
    // Whole seconds rounded toward negative infinity, so the fraction is never negative.
    let wholeSeconds = fraction < 0 ? seconds - 1 : seconds
    let micros = fraction < 0 ? fraction + 1_000_000 : fraction
    var time = time_t(wholeSeconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    func padded(_ value: Int32, _ width: Int) -> String {
      let digits = String(value)
      return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    let microText = String(micros)
    return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))T"
      + "\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))."
      + String(repeating: "0", count: 6 - microText.count) + microText + "Z"
  }
}
