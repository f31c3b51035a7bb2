package import NIOCore

/// Reads the records of a whole CSV chunk (no header) as places in its bytes, without making a
/// `String` of any field: for checks that look at the bytes and a load that sends them as they are.
///
/// It accepts exactly what `CSVRecordReader` accepts for the same bytes, header and offsets, with
/// the same record numbers; where that reader throws, this one stops and says so.
package enum CSVSpanReader {
  /// One record: its bytes (without the line end) and its fields, valid only during the call
  /// that is given it.
  package struct Record {
    /// The record's bytes as uploaded, without the line end.
    package let bytes: UnsafeRawBufferPointer
    /// Where the record starts in the chunk's bytes.
    package let start: Int
    fileprivate let spans: [CSVFieldSpan]

    fileprivate init(bytes: UnsafeRawBufferPointer, start: Int, spans: [CSVFieldSpan]) {
      self.bytes = bytes
      self.start = start
      self.spans = spans
    }

    /// The number of fields.
    package var count: Int { self.spans.count }

    /// Field `index`'s bytes as they stand between its quotes (a doubled quote is still two).
    package func field(_ index: Int) -> UnsafeRawBufferPointer {
      UnsafeRawBufferPointer(rebasing: self.bytes[self.spans[index].start ..< self.spans[index].end])
    }

    /// Whether field `index` holds doubled quotes, which its value has once each.
    package func hasDoubledQuotes(_ index: Int) -> Bool {
      self.spans[index].hasDoubledQuotes
    }
  }

  /// `read(_:delimiter:columns:maxRecordBytes:body:)` of bytes in an array.
  package static func read(
    _ bytes: [UInt8],
    delimiter: UInt8,
    columns: Int,
    maxRecordBytes: Int = RecordLimits.defaultMaxRecordBytes,
    body: (Record) -> Bool
  ) -> Int? {
    Self.read(ByteBuffer(bytes: bytes), delimiter: delimiter, columns: columns, maxRecordBytes: maxRecordBytes, body: body)
  }

  /// Calls `body` for each record of `bytes`, in order, while it returns true.
  ///
  /// - Parameters:
  ///   - columns: the fields every record must have (the header's).
  /// - Returns: the number of records, or `nil` when a record is malformed (as `CSVRecordReader`
  ///   would throw) or `body` returned false.
  package static func read(
    _ bytes: ByteBuffer,
    delimiter: UInt8,
    columns: Int,
    maxRecordBytes: Int = RecordLimits.defaultMaxRecordBytes,
    body: (Record) -> Bool
  ) -> Int? {
    var scanner = CSVRecordScanner(
      delimiter: delimiter,
      maxRecordBytes: maxRecordBytes,
      hasHeader: false,
      firstNumber: 1,
      startOffset: 0
    )
    var count = 0
    func accept(_ scanned: CSVScannedRecord, _ spans: [CSVFieldSpan]) -> Bool {
      guard spans.count == columns else { return false }
      count += 1
      return scanned.raw.withUnsafeReadableBytes { raw in
        body(Record(bytes: raw, start: Int(scanned.offset), spans: spans))
      }
    }
    do {
      let complete = try bytes.withUnsafeReadableBytes { raw throws(FormatError) -> Bool in
        scanner.beginFeed(raw)
        var index = 0
        while let record = try scanner.next(raw, in: bytes, at: &index) {
          guard accept(record, scanner.spans) else { return false }
        }
        return true
      }
      guard complete else { return nil }
      if let last = try scanner.finish() {
        guard accept(last, scanner.spans) else { return nil }
      }
    } catch {
      return nil
    }
    return count
  }
}
