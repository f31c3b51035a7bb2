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
    for var field in fields {
      let separated = count > 0
      field.withUTF8 { bytes in
        self.write(field: UnsafeRawBufferPointer(bytes), separated: separated, into: &buffer)
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

  /// Appends one field, after a delimiter when `separated`, in one write: each field costs a
  /// single capacity check and copy rather than one per piece.
  private func write(field bytes: UnsafeRawBufferPointer, separated: Bool, into buffer: inout ByteBuffer) {
    let quoted = self.needsQuotes(bytes)
    // At most: the delimiter, two quotes, and every byte a doubled quote.
    let maximum = quoted ? 3 + 2 * bytes.count : 1 + bytes.count
    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximum) { target in
      var position = 0
      if separated {
        target[0] = self.delimiter
        position = 1
      }
      guard quoted else {
        if let source = bytes.baseAddress, !bytes.isEmpty {
          target.baseAddress!.advanced(by: position).copyMemory(from: source, byteCount: bytes.count)
        }
        return position + bytes.count
      }
      target[position] = ASCII.quote
      position += 1
      for byte in bytes {
        target[position] = byte
        position += 1
        if byte == ASCII.quote {
          target[position] = ASCII.quote
          position += 1
        }
      }
      target[position] = ASCII.quote
      return position + 1
    }
  }

  private func needsQuotes(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let first = bytes.first, let last = bytes.last else { return false }
    if first == ASCII.space || first == ASCII.tab || last == ASCII.space || last == ASCII.tab {
      return true
    }
    if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
      return true
    }
    for byte in bytes where byte <= ASCII.quote || byte == self.delimiter {
      if byte == self.delimiter || byte == ASCII.quote || byte == ASCII.lineFeed || byte == ASCII.carriageReturn {
        return true
      }
    }
    return false
  }
}
