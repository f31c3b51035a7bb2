internal import Foundation
internal import NIOCore

/// A deterministic CSV of customer payments: `id,name,email,created_at,amount`, with a quoted
/// name holding a comma (and sometimes a doubled quote) in every fourth row.
///
/// Ids run from 1 without gaps, so the file loads into a table whose primary key is `id`;
/// `created_at` is an ISO 8601 timestamp in UTC and `amount` a decimal with two places.
enum SampleCSV {
  private static let firstNames = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
  private static let lastNames = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "O\"Brien"]

  /// The header line's columns.
  static let columns = ["id", "name", "email", "created_at", "amount"]

  /// At least `bytes` bytes of CSV, ending with a whole record.
  static func make(bytes: Int) -> ByteBuffer {
    Self.make(capacity: bytes + 256) { buffer, _ in buffer.readableBytes < bytes }
  }

  /// Exactly `rows` records after the header line.
  static func make(rows: Int) -> ByteBuffer {
    Self.make(capacity: rows * 80 + 64) { _, written in written < rows }
  }

  /// Writes records while `more(buffer, recordsWritten)` holds.
  private static func make(capacity: Int, while more: (ByteBuffer, Int) -> Bool) -> ByteBuffer {
    let quotedLastNames = Self.lastNames.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") }
    let plainLastNames = Self.lastNames.map { $0.replacingOccurrences(of: "\"", with: "") }
    let emailNames = Self.firstNames.map { $0.lowercased() }
    var buffer = ByteBufferAllocator().buffer(capacity: capacity)
    buffer.writeString(Self.columns.joined(separator: ",") + "\n")
    var state: UInt64 = 0x5EED
    var id = 0
    while more(buffer, id) {
      id += 1
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let random = Int(truncatingIfNeeded: state >> 33)
      let first = random % Self.firstNames.count
      let last = (random >> 3) % Self.lastNames.count
      buffer.writeString(String(id))
      buffer.writeInteger(UInt8(ascii: ","))
      if id % 4 == 0 {
        buffer.writeString(quotedLastNames[last] + ", " + Self.firstNames[first] + "\"")
      } else {
        buffer.writeString(Self.firstNames[first] + " " + plainLastNames[last])
      }
      buffer.writeString("," + emailNames[first] + "." + String(id) + "@example.com,")
      let second = (random >> 5) % 86_400
      buffer.writeString(
        "2024-" + Self.twoDigits(random % 12 + 1) + "-" + Self.twoDigits(random % 28 + 1) + "T"
          + Self.twoDigits(second / 3600) + ":" + Self.twoDigits(second / 60 % 60) + ":" + Self.twoDigits(second % 60)
          + "Z,"
      )
      buffer.writeString(String((random >> 7) % 100_000) + "." + Self.twoDigits((random >> 11) % 100) + "\n")
    }
    return buffer
  }

  private static func twoDigits(_ value: Int) -> String {
    value < 10 ? "0\(value)" : String(value)
  }
}
