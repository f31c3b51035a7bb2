package import NIOCore

/// One data record of a CSV stream.
package struct CSVRecord: Hashable, Sendable {
  /// The 1-based number of the record; the header is not counted.
  package var number: Int64
  /// The stream offset of the record's first byte.
  package var offset: Int64
  /// The field values, quotes removed and doubled quotes undone.
  package var fields: [String]
  /// The record's bytes as they were read, without the line end.
  package var raw: ByteBuffer

  /// A record.
  package init(number: Int64, offset: Int64, fields: [String], raw: ByteBuffer) {
    self.number = number
    self.offset = offset
    self.fields = fields
    self.raw = raw
  }
}

extension CSVRecord {
  /// The values of a scanned record's fields, read from its bytes.
  static func fields(of raw: ByteBuffer, spans: [CSVFieldSpan]) -> [String] {
    raw.withUnsafeReadableBytes { bytes in
      spans.map { span in
        let value = UnsafeRawBufferPointer(rebasing: bytes[span.start ..< span.end])
        guard span.hasDoubledQuotes else {
          return String(decoding: value, as: UTF8.self)
        }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(value.count)
        var skipQuote = false
        for byte in value {
          if byte == ASCII.quote && skipQuote {
            skipQuote = false
            continue
          }
          skipQuote = byte == ASCII.quote
          unescaped.append(byte)
        }
        return String(decoding: unescaped, as: UTF8.self)
      }
    }
  }
}
