package import NIOCore

/// Writes CSV records (RFC 4180) that `CSVRecordReader` reads back to the same fields.
///
/// A field is quoted when it holds the delimiter, a quote, a carriage return or a line feed, when
/// it starts or ends with a space or tab, or when it starts with a byte order mark; quotes inside
/// are doubled. A record of one empty field is written as `""`, since an empty line is no record.
/// Lines end with `\n`.
package struct CSVWriter: Sendable {
  /// The field separator.
  package let delimiter: UInt8

  /// A writer whose fields are separated by `delimiter`.
  package init(delimiter: UInt8) {
    self.delimiter = delimiter
  }

  /// Appends one record to `buffer`.
  package func write(_ fields: some Sequence<String>, into buffer: inout ByteBuffer) {
    var count = 0
    var lastWasEmpty = false
    for field in fields {
      if count > 0 {
        buffer.writeInteger(self.delimiter)
      }
      var field = field
      field.withUTF8 { bytes in
        self.write(field: UnsafeRawBufferPointer(bytes), into: &buffer)
      }
      lastWasEmpty = field.isEmpty
      count += 1
    }
    if count == 1 && lastWasEmpty {
      buffer.writeInteger(ASCII.quote)
      buffer.writeInteger(ASCII.quote)
    }
    buffer.writeInteger(ASCII.lineFeed)
  }

  private func write(field bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
    guard self.needsQuotes(bytes) else {
      buffer.writeBytes(bytes)
      return
    }
    buffer.writeInteger(ASCII.quote)
    var start = 0
    for index in bytes.indices where bytes[index] == ASCII.quote {
      buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start ... index]))
      buffer.writeInteger(ASCII.quote)
      start = index + 1
    }
    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start...]))
    buffer.writeInteger(ASCII.quote)
  }

  private func needsQuotes(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let first = bytes.first, let last = bytes.last else { return false }
    if first == ASCII.space || first == ASCII.tab || last == ASCII.space || last == ASCII.tab {
      return true
    }
    if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
      return true
    }
    return bytes.contains { byte in
      byte == self.delimiter || byte == ASCII.quote || byte == ASCII.lineFeed || byte == ASCII.carriageReturn
    }
  }
}
