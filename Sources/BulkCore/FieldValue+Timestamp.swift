package import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

extension FieldValue {
  /// The instant of a timestamp as databases write it: `2024-01-02 03:04:05.123456+00`
  /// (PostgreSQL with `DateStyle = ISO`) or ISO 8601 `2024-01-02T03:04:05Z` (SQLite's date
  /// functions), with or without fractional seconds; without a zone it is UTC. `nil` for anything
  /// else (`infinity`, years BC, a date alone).
  package static func timestamp(parsing text: String) -> Date? {
    let bytes = Array(text.utf8)
    func number(_ range: Range<Int>) -> Int? {
      guard range.upperBound <= bytes.count else { return nil }
      var value = 0
      for byte in bytes[range] {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
      }
      return value
    }
    guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
      bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T"),
      bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
      let year = number(0 ..< 4), let month = number(5 ..< 7), let day = number(8 ..< 10),
      let hour = number(11 ..< 13), let minute = number(14 ..< 16), let second = number(17 ..< 19)
    else { return nil }
    var index = 19
    var fraction = 0.0
    if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
      var scale = 0.1
      index += 1
      while index < bytes.count, let digit = number(index ..< index + 1) {
        fraction += Double(digit) * scale
        scale /= 10
        index += 1
      }
    }
    var offset = 0
    if index < bytes.count {
      if bytes[index] == UInt8(ascii: "Z") {
        guard index + 1 == bytes.count else { return nil }
      } else {
        let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
        guard bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"),
          let hours = number(index + 1 ..< index + 3)
        else { return nil }
        let minutesStart = index + 3 < bytes.count && bytes[index + 3] == UInt8(ascii: ":") ? index + 4 : index + 3
        let minutes = minutesStart + 2 <= bytes.count ? number(minutesStart ..< minutesStart + 2) ?? 0 : 0
        offset = sign * (hours * 3600 + minutes * 60)
      }
    }
    var parts = tm()
    parts.tm_year = Int32(year - 1900)
    parts.tm_mon = Int32(month - 1)
    parts.tm_mday = Int32(day)
    parts.tm_hour = Int32(hour)
    parts.tm_min = Int32(minute)
    parts.tm_sec = Int32(second)
    return Date(timeIntervalSince1970: Double(timegm(&parts) - offset) + fraction)
  }
}
