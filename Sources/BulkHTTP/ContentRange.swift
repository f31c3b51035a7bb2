internal import BulkCore
internal import Foundation

/// The `Content-Range` of an upload `PUT`: `bytes START-END/TOTAL` or `bytes START-END/*`.
///
/// `START` is where the body belongs in the job's whole upload, like the gRPC `offset`; the
/// service skips what is already stored and refuses a gap.
struct ContentRange: Hashable {
  /// Offset of the body's first byte.
  var start: Int64
  /// Offset of the body's last byte.
  var end: Int64

  /// The body's length by the range.
  var length: Int64 { self.end - self.start + 1 }

  init(start: Int64, end: Int64) {
    self.start = start
    self.end = end
  }

  /// Parses a header value, checking it against `Content-Length` when that was sent.
  init(header: String, contentLength: Int64?) throws(BulkError) {
    let usage = "Content-Range must be 'bytes START-END/TOTAL' or 'bytes START-END/*'"
    var text = Substring(header.trimmingCharacters(in: .whitespaces))
    guard text.lowercased().hasPrefix("bytes ") else { throw .invalidArgument(usage) }
    text = text.dropFirst("bytes ".count).drop(while: { $0 == " " })
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    let bounds = parts.first?.split(separator: "-", omittingEmptySubsequences: false) ?? []
    guard parts.count == 2, bounds.count == 2, let start = Self.number(bounds[0]), let end = Self.number(bounds[1]),
      start <= end
    else {
      throw .invalidArgument(usage)
    }
    if parts[1] != "*" {
      guard let total = Self.number(parts[1]), end < total else {
        throw .invalidArgument("Content-Range '\(header.prefix(80))' ends beyond its total size")
      }
    }
    self.init(start: start, end: end)
    if let contentLength, contentLength != self.length {
      throw .invalidArgument(
        "Content-Range '\(header.prefix(80))' covers \(self.length) bytes but Content-Length is \(contentLength)"
      )
    }
  }

  private static func number(_ text: Substring) -> Int64? {
    guard !text.isEmpty, text.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
    return Int64(text)
  }
}
