package import BulkCore

/// A chunk's records as one `COPY` text buffer, a line per record, with where each line starts,
/// so that any range of records is sent again as a slice without re-encoding.
package struct CopyRows: Sendable {
  /// The lines, each ending in a newline.
  package private(set) var bytes: [UInt8] = []
  /// `lineStarts[i]` is where record `i` starts; one more entry marks the end.
  private var lineStarts: [Int] = [0]

  /// Encodes `records`; with `numbered`, each line starts with the record's position in the
  /// chunk (the staging table's `_n`).
  package init(records: [ChunkRecord], numbered: Bool) {
    let valueCount = records.first?.values.count ?? 0
    self.bytes.reserveCapacity(records.count * (valueCount * 12 + 8))
    self.lineStarts.reserveCapacity(records.count + 1)
    for (position, record) in records.enumerated() {
      if numbered {
        self.bytes.append(contentsOf: String(position).utf8)
        self.bytes.append(UInt8(ascii: "\t"))
      }
      for (index, value) in record.values.enumerated() {
        if index > 0 { self.bytes.append(UInt8(ascii: "\t")) }
        value.appendCopyText(to: &self.bytes)
      }
      self.bytes.append(UInt8(ascii: "\n"))
      self.lineStarts.append(self.bytes.count)
    }
  }

  /// The lines of the records at `positions`.
  package subscript(positions: Range<Int>) -> ArraySlice<UInt8> {
    self.bytes[self.lineStarts[positions.lowerBound] ..< self.lineStarts[positions.upperBound]]
  }
}
