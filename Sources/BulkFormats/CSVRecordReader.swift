package import NIOCore

/// Reads the records of a CSV stream (RFC 4180), fed in pieces, with every field.
///
/// The first record is the header, unless the reader is made with the header already known (to
/// read a chunk cut from the middle of a stream). Each data record must have as many fields as the
/// header. Quoted fields may hold delimiters, doubled quotes and line ends; lines end with LF or
/// CRLF; a line with no bytes is skipped; a byte order mark at the start is skipped; the last
/// record needs no line end. The first fault ends the reading with a `FormatError` naming the
/// record and byte offset.
package struct CSVRecordReader {
  private var skipper: ByteOrderMarkSkipper
  private var scanner: CSVRecordScanner
  /// The column names, once the header was read (or as given).
  package private(set) var header: [String]?

  /// A reader whose first record is the header.
  ///
  /// - Parameters:
  ///   - delimiter: the field separator, e.g. `UInt8(ascii: ",")`.
  ///   - maxRecordBytes: the longest record accepted; a longer one is `limitExceeded`.
  package init(delimiter: UInt8, maxRecordBytes: Int = RecordLimits.defaultMaxRecordBytes) {
    self.skipper = ByteOrderMarkSkipper()
    self.scanner = CSVRecordScanner(
      delimiter: delimiter,
      maxRecordBytes: maxRecordBytes,
      hasHeader: true,
      firstNumber: 0,
      startOffset: 0
    )
    self.header = nil
  }

  /// A reader for records without a header line, such as a `RecordChunk`'s bytes.
  ///
  /// - Parameters:
  ///   - delimiter: the field separator.
  ///   - header: the column names the records must match.
  ///   - firstRecord: the number of the first record (a chunk's `firstRecord`).
  ///   - startOffset: the stream offset of the first byte (a chunk's `offset`).
  ///   - maxRecordBytes: the longest record accepted.
  package init(
    delimiter: UInt8,
    header: [String],
    firstRecord: Int64 = 1,
    startOffset: Int64 = 0,
    maxRecordBytes: Int = RecordLimits.defaultMaxRecordBytes
  ) {
    self.skipper = ByteOrderMarkSkipper(enabled: false)
    self.scanner = CSVRecordScanner(
      delimiter: delimiter,
      maxRecordBytes: maxRecordBytes,
      hasHeader: false,
      firstNumber: firstRecord,
      startOffset: startOffset
    )
    self.header = header
  }

  /// Reads the next piece of the stream, calling `onRecord` for each data record it completes.
  ///
  /// - Throws: `FormatError` for malformed input, or what `onRecord` throws.
  package mutating func feed(_ bytes: ByteBuffer, onRecord: (CSVRecord) throws -> Void) throws {
    guard let (bytes, dropped) = self.skipper.feed(bytes) else { return }
    self.scanner.skip(dropped)
    try self.read(bytes, onRecord: onRecord)
  }

  /// The input has ended: reads a last record without a line end.
  ///
  /// - Throws: `FormatError` for an unclosed quote, a cut UTF-8 sequence, a missing header or
  ///   another fault; or what `onRecord` throws.
  package mutating func finish(onRecord: (CSVRecord) throws -> Void) throws {
    if let rest = self.skipper.finish() {
      try self.read(rest, onRecord: onRecord)
    }
    if let record = try self.scanner.finish() {
      try self.accept(record, onRecord: onRecord)
    }
    guard self.header != nil else {
      throw FormatError.malformed(
        "the CSV input has no header: it ends at byte \(self.scanner.pieceOffset) before any record",
        offset: self.scanner.pieceOffset,
        record: 0
      )
    }
  }

  private mutating func read(_ bytes: ByteBuffer, onRecord: (CSVRecord) throws -> Void) throws {
    try bytes.withUnsafeReadableBytes { raw in
      self.scanner.beginFeed(raw)
      var index = 0
      while let record = try self.scanner.next(raw, in: bytes, at: &index) {
        try self.accept(record, onRecord: onRecord)
      }
    }
  }

  private mutating func accept(_ record: CSVScannedRecord, onRecord: (CSVRecord) throws -> Void) throws {
    let spans = self.scanner.spans
    guard let header = self.header else {
      self.header = try CSVHeaderReader.columns(of: record, spans: spans)
      return
    }
    guard spans.count == header.count else {
      throw FormatError.malformed(
        "record \(record.number) at byte \(record.offset) has \(spans.count) "
          + "\(spans.count == 1 ? "field" : "fields"), the header has \(header.count)",
        offset: record.offset,
        record: record.number
      )
    }
    let fields = CSVRecord.fields(of: record.raw, spans: spans)
    try onRecord(CSVRecord(number: record.number, offset: record.offset, fields: fields, raw: record.raw))
  }
}
