package import NIOCore

/// Reads the column names of a CSV stream from its first record, fed in pieces.
///
/// The header is checked as a whole: it is not empty, every name is non-empty and unique, it is
/// UTF-8 and its quotes are closed. A byte order mark at the start and blank lines before the
/// header are skipped; bytes after the header are not read.
package struct CSVHeaderReader {
  private var skipper = ByteOrderMarkSkipper()
  private var scanner: CSVRecordScanner
  private var columns: [String]?
  private let maxColumns: Int

  /// A reader for a CSV stream whose fields are separated by `delimiter`, whose header may name
  /// at most `maxColumns` columns (more is `limitExceeded`).
  package init(delimiter: UInt8, maxColumns: Int = RecordLimits.defaultMaxColumns) {
    self.maxColumns = maxColumns
    self.scanner = CSVRecordScanner(
      delimiter: delimiter,
      maxRecordBytes: RecordLimits.defaultMaxRecordBytes,
      hasHeader: true,
      firstNumber: 0,
      startOffset: 0
    )
  }

  /// Reads the next piece of the stream.
  ///
  /// - Returns: the column names once the header record is complete, `nil` while more bytes are
  ///   needed.
  package mutating func feed(_ bytes: ByteBuffer) throws(FormatError) -> [String]? {
    if let columns = self.columns {
      return columns
    }
    guard let (bytes, dropped) = self.skipper.feed(bytes) else { return nil }
    self.scanner.skip(dropped)
    return try self.read(bytes)
  }

  /// The stream has ended: the column names of a header without a line end.
  ///
  /// - Throws: `FormatError` when the stream holds no header or the header is invalid.
  package mutating func finish() throws(FormatError) -> [String] {
    if let columns = self.columns {
      return columns
    }
    if let rest = self.skipper.finish(), let columns = try self.read(rest) {
      return columns
    }
    guard let record = try self.scanner.finish() else {
      throw .malformed(
        "the CSV input has no header: it ends at byte \(self.scanner.pieceOffset) before any record",
        offset: self.scanner.pieceOffset,
        record: 0
      )
    }
    return try self.accept(record)
  }

  private mutating func read(_ bytes: ByteBuffer) throws(FormatError) -> [String]? {
    try bytes.withUnsafeReadableBytes { raw throws(FormatError) -> [String]? in
      self.scanner.beginFeed(raw)
      var index = 0
      guard let record = try self.scanner.next(raw, in: bytes, at: &index) else { return nil }
      return try self.accept(record)
    }
  }

  private mutating func accept(_ record: CSVScannedRecord) throws(FormatError) -> [String] {
    let columns = try Self.columns(of: record, spans: self.scanner.spans, maxColumns: self.maxColumns)
    self.columns = columns
    return columns
  }

  /// The column names of a scanned header record, checked.
  static func columns(
    of record: CSVScannedRecord,
    spans: [CSVFieldSpan],
    maxColumns: Int = RecordLimits.defaultMaxColumns
  ) throws(FormatError) -> [String] {
    guard spans.count <= maxColumns else {
      throw .limitExceeded(
        "the header at byte \(record.offset) names \(spans.count) columns, more than the \(maxColumns) allowed (--max-columns)",
        offset: record.offset,
        record: 0
      )
    }
    let names = CSVRecord.fields(of: record.raw, spans: spans)
    var seen: Set<String> = []
    for (index, name) in names.enumerated() {
      guard !name.isEmpty else {
        throw .malformed(
          "the header at byte \(record.offset) has an empty name for column \(index + 1)",
          offset: record.offset,
          record: 0
        )
      }
      guard seen.insert(name).inserted else {
        throw .malformed(
          "the header at byte \(record.offset) names column '\(Self.shortened(name))' twice",
          offset: record.offset,
          record: 0
        )
      }
    }
    return names
  }

  /// A name cut to the length a message quotes.
  private static func shortened(_ name: String) -> String {
    name.utf8.count <= FormatError.contextLength ? name : String(name.prefix(FormatError.contextLength)) + "…"
  }
}
