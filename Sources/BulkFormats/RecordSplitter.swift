package import BulkCore
package import NIOCore

/// Cuts an upload's (inflated) record stream into `RecordChunk`s at record boundaries, without
/// parsing fields, so that the engine can apply the chunks in parallel.
///
/// A chunk ends when it holds `maxRecords` records, or before a record that would take it past
/// `maxBytes`; a record larger than `maxBytes` forms a chunk alone. Every record lands in exactly
/// one chunk, numbered from 1 across chunks. Blank lines travel with the record after them; blank
/// lines at the very end stay with the last chunk. Memory is bounded by `maxBytes` and
/// `maxRecordBytes`: bytes are held only until their chunk is handed on.
///
/// - CSV: the first record is the header, kept in `header` and not in any chunk; a byte order mark
///   at the start is dropped. The header followed by every chunk's bytes is the input byte for byte
///   (without the mark). Only quotes are tracked, so malformed fields are reported by the reader
///   of the chunk; a quote still open at the end is reported here.
/// - Newline-delimited JSON: chunks are whole lines, and joined they are the input.
/// - A JSON array: a chunk holds the array's objects as they are in the input, each followed by a
///   line feed (newline-delimited JSON when the objects are on one line each); the array's
///   brackets, commas and whitespace are checked and left out.
package struct RecordSplitter {
  private let format: ContentType
  private let maxRecordBytes: Int
  private var skipper = ByteOrderMarkSkipper()
  private var assembler: ChunkAssembler
  private var csv = CSVBoundaryScanner()
  private var json = JSONStructureScanner(firstRecord: 1, startOffset: 0)
  /// The index of the current object's `{` in the current piece; -1 when it began earlier.
  private var objectStart = 0
  /// JSON: the stream offset just after the last complete record (its `}`, or its line's end).
  private var jsonRecordEnd: Int64 = 0
  private let maxRecords: Int
  private let maxBytes: Int

  /// A splitter.
  ///
  /// - Parameters:
  ///   - format: `.csv` or `.json`.
  ///   - delimiter: the CSV field separator (it does not affect where records end).
  ///   - maxRecords: the most records in a chunk, at least 1.
  ///   - maxBytes: the most bytes in a chunk of more than one record, at least 1.
  ///   - maxRecordBytes: the longest record accepted; a longer one is `limitExceeded`, so memory
  ///     stays bounded whatever the input.
  /// - Precondition: `format` is `.csv` or `.json`.
  package init(
    format: ContentType,
    delimiter: UInt8,
    maxRecords: Int,
    maxBytes: Int,
    maxRecordBytes: Int = RecordLimits.defaultMaxRecordBytes
  ) {
    precondition(format == .csv || format == .json, "RecordSplitter reads CSV or JSON, not \(format.rawValue)")
    precondition(maxRecords > 0 && maxBytes > 0, "chunks need room for a record")
    self.format = format
    self.maxRecords = maxRecords
    self.maxBytes = maxBytes
    self.maxRecordBytes = maxRecordBytes
    self.assembler = ChunkAssembler(maxRecords: maxRecords, maxBytes: maxBytes, headerUnits: format == .csv ? 1 : 0)
  }

  /// Records whose end has been seen so far (the CSV header excluded), whether or not their chunk
  /// is complete: a count of the records an upload holds up to now.
  package var completedRecords: Int64 { self.assembler.completedRecords }

  /// The CSV header record's bytes with its line end (and any blank lines before it), once read.
  package var header: ByteBuffer? { self.assembler.header }

  /// Where the stream can be taken up again without the records before it: at the end of the
  /// last complete record (in CSV, after the header). `nil` before the CSV header has ended, and
  /// in JSON before a record has.
  package var resumePoint: ResumePoint? {
    switch self.format {
    case .json:
      guard let layout = self.json.layout, self.assembler.completedRecords > 0 else { return nil }
      return ResumePoint(
        headerEnd: 0,
        offset: self.jsonRecordEnd,
        records: self.assembler.completedRecords,
        layout: layout == .array ? .jsonArray : .jsonLines
      )
    default:
      guard let headerEnd = self.assembler.headerEnd else { return nil }
      return ResumePoint(
        headerEnd: headerEnd,
        offset: self.assembler.lastUnitEndOffset,
        records: self.assembler.completedRecords
      )
    }
  }

  /// Takes the stream up again at `point`: feed it the bytes from `point.offset` on after. Counts,
  /// record numbers and offsets continue as if every byte had been read.
  ///
  /// CSV: call it after feeding exactly the stream's first `point.headerEnd` bytes (the header).
  /// JSON: call it on a new splitter, before feeding anything.
  package mutating func resume(at point: ResumePoint) {
    switch point.layout {
    case .csv:
      let gap = point.offset - point.headerEnd
      self.csv.skipRecords(bytes: gap, records: point.records)
      self.assembler.skipRecords(bytes: gap, records: point.records)
    case .jsonLines, .jsonArray:
      // The stream's start, and a byte order mark with it, lies behind.
      self.skipper = ByteOrderMarkSkipper(enabled: false)
      self.json.resume(
        layout: point.layout == .jsonArray ? .array : .lines,
        records: point.records,
        offset: point.offset
      )
      self.assembler.skipRecords(bytes: point.offset, records: point.records)
      self.jsonRecordEnd = point.offset
    }
  }

  /// Reads the next piece of the stream, calling `onChunk` for each chunk it completes.
  ///
  /// - Throws: `FormatError` for a record past `maxRecordBytes` or a malformed JSON structure, or
  ///   what `onChunk` throws.
  package mutating func feed(_ bytes: ByteBuffer, onChunk: (RecordChunk) throws -> Void) throws {
    guard let (bytes, dropped) = self.skipper.feed(bytes) else { return }
    self.csv.skip(dropped)
    self.json.skip(dropped)
    self.assembler.positionBias += dropped
    try self.read(bytes, onChunk: onChunk)
  }

  /// The input has ended: closes the last chunk.
  ///
  /// - Throws: `FormatError` for a quote, object or array still open, or what `onChunk` throws.
  package mutating func finish(onChunk: (RecordChunk) throws -> Void) throws {
    if let rest = self.skipper.finish() {
      try self.read(rest, onChunk: onChunk)
    }
    let lastUnitEnds: Bool
    switch self.format {
    case .json:
      lastUnitEnds = try self.json.finish()
    default:
      lastUnitEnds = try self.csv.finish()
    }
    if lastUnitEnds {
      try self.assembler.unitEndedAtEndOfInput(onChunk: onChunk)
    }
    try self.assembler.finish(onChunk: onChunk)
  }

  private mutating func read(_ bytes: ByteBuffer, onChunk: (RecordChunk) throws -> Void) throws {
    switch self.format {
    case .json:
      try self.readJSON(bytes, onChunk: onChunk)
    default:
      try self.readCSV(bytes, onChunk: onChunk)
    }
    guard self.assembler.openUnitLength <= Int64(self.maxRecordBytes) else {
      let (number, offset) =
        self.format == .json
        ? (self.json.number, self.json.objectOffset) : (self.csv.number, self.csv.recordOffset)
      throw FormatError.limitExceeded(
        "\(FormatError.place(record: number, offset: offset, isHeader: self.format == .csv && number == 0)) "
          + "is longer than \(self.maxRecordBytes) bytes",
        offset: offset,
        record: number
      )
    }
  }

  private mutating func readCSV(_ bytes: ByteBuffer, onChunk: (RecordChunk) throws -> Void) throws {
    self.assembler.beginPiece(bytes)
    self.csv.beginPiece()
    try bytes.withUnsafeReadableBytes { raw in
      var index = 0
      while let end = self.csv.next(raw, at: &index) {
        try self.assembler.unitEnded(at: end, onChunk: onChunk)
      }
      self.csv.endPiece(count: raw.count)
    }
    self.assembler.endPiece()
  }

  private mutating func readJSON(_ bytes: ByteBuffer, onChunk: (RecordChunk) throws -> Void) throws {
    let layoutKnown = self.json.layout != nil
    var normalized = ByteBuffer()
    var unitEnds: [(end: Int, offset: Int64?)] = []
    try bytes.withUnsafeReadableBytes { raw throws(FormatError) in
      var index = 0
      while let event = try self.json.next(raw, upTo: raw.count, at: &index) {
        switch event {
        case .objectStart(let start):
          self.objectStart = start
        case .objectEnd(let end, let balanced):
          guard balanced else { throw self.unbalanced(at: end - 1) }
          if self.json.layout == .array {
            self.jsonRecordEnd = self.json.pieceOffset + Int64(end)
            normalized.writeBytes(UnsafeRawBufferPointer(rebasing: raw[max(self.objectStart, 0) ..< end]))
            normalized.writeInteger(ASCII.lineFeed)
            unitEnds.append((normalized.writerIndex, self.json.objectOffset))
          }
        case .lineEnd(let end):
          self.jsonRecordEnd = self.json.pieceOffset + Int64(end)
          unitEnds.append((end, nil))
        }
      }
      if self.json.isInObject {
        if self.json.layout == .array {
          normalized.writeBytes(UnsafeRawBufferPointer(rebasing: raw[max(self.objectStart, 0) ..< raw.count]))
        }
        self.objectStart = -1
      }
      self.json.endPiece(count: raw.count)
    }
    if self.json.layout == .array {
      if !layoutKnown {
        self.assembler = ChunkAssembler(maxRecords: self.maxRecords, maxBytes: self.maxBytes, headerUnits: 0)
      }
      self.assembler.beginPiece(normalized)
    } else {
      self.assembler.beginPiece(bytes)
    }
    for unit in unitEnds {
      try self.assembler.unitEnded(at: unit.end, offset: unit.offset, onChunk: onChunk)
    }
    self.assembler.endPiece()
  }

  private func unbalanced(at index: Int) -> FormatError {
    let offset = self.json.pieceOffset + Int64(index)
    return .malformed(
      "\(FormatError.place(record: self.json.number, offset: self.json.objectOffset)) has a closing bracket "
        + "at byte \(offset) that does not match its opening one",
      offset: offset,
      record: self.json.number
    )
  }
}

/// A place in a record stream where `RecordSplitter` can take it up again.
package struct ResumePoint: Hashable, Sendable {
  /// How the stream lays out its records, which says what the splitter expects after `offset`.
  package enum Layout: UInt8, Hashable, Sendable {
    /// CSV: a record follows (or blank lines).
    case csv = 0
    /// Newline-delimited JSON: an object follows on a line of its own (or blank lines).
    case jsonLines = 1
    /// A JSON array of objects: a `,` or the closing `]` follows.
    case jsonArray = 2
  }

  /// CSV: the stream offset just after the header record; 0 for JSON.
  package var headerEnd: Int64
  /// The stream offset just after the last complete record.
  package var offset: Int64
  /// Complete records before `offset`, the header excluded.
  package var records: Int64
  /// The stream's layout.
  package var layout: Layout

  /// A resume point.
  package init(headerEnd: Int64, offset: Int64, records: Int64, layout: Layout = .csv) {
    self.headerEnd = headerEnd
    self.offset = offset
    self.records = records
    self.layout = layout
  }
}
