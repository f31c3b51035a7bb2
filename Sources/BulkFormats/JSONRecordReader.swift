package import NIOCore

/// Reads the records of a JSON stream, fed in pieces: a JSON array of objects, or
/// newline-delimited objects (NDJSON), told apart by the first byte that is not whitespace.
///
/// Every object is checked against RFC 8259 and must be UTF-8; its top-level keys must be unique.
/// An element that is not an object, a missing or trailing comma, an array that is not closed and
/// bytes after the array are errors. A byte order mark at the start is skipped. The first fault
/// ends the reading with a `FormatError` naming the record and byte offset.
package struct JSONRecordReader {
  private var skipper: ByteOrderMarkSkipper
  private var scanner: JSONStructureScanner
  private var validator = UTF8Validator()
  private let maxRecordBytes: Int
  /// The index of the current object's `{` in the current piece; -1 when it began in an earlier
  /// piece and `carry` holds its first bytes.
  private var objectStart = 0
  private var carry = ByteBuffer()

  /// A reader for a whole stream.
  ///
  /// - Parameter maxRecordBytes: the longest object accepted; a longer one is `limitExceeded`.
  package init(maxRecordBytes: Int = RecordLimits.defaultMaxRecordBytes) {
    self.skipper = ByteOrderMarkSkipper()
    self.scanner = JSONStructureScanner(firstRecord: 1, startOffset: 0)
    self.maxRecordBytes = maxRecordBytes
  }

  /// A reader for a piece cut from the middle of a stream, such as a `RecordChunk`'s bytes.
  ///
  /// - Parameters:
  ///   - firstRecord: the number of the first record (a chunk's `firstRecord`).
  ///   - startOffset: the stream offset of the first byte (a chunk's `offset`).
  ///   - maxRecordBytes: the longest object accepted.
  package init(firstRecord: Int64, startOffset: Int64, maxRecordBytes: Int = RecordLimits.defaultMaxRecordBytes) {
    self.skipper = ByteOrderMarkSkipper(enabled: false)
    self.scanner = JSONStructureScanner(firstRecord: firstRecord, startOffset: startOffset)
    self.maxRecordBytes = maxRecordBytes
  }

  /// Reads the next piece of the stream, calling `onRecord` for each object it completes.
  ///
  /// - Throws: `FormatError` for malformed input, or what `onRecord` throws.
  package mutating func feed(_ bytes: ByteBuffer, onRecord: (JSONRecord) throws -> Void) throws {
    guard let (bytes, dropped) = self.skipper.feed(bytes) else { return }
    self.scanner.skip(dropped)
    try self.read(bytes, onRecord: onRecord)
  }

  /// The input has ended.
  ///
  /// - Throws: `FormatError` when an object or the array is not closed, a UTF-8 sequence is cut,
  ///   or the input holds no JSON; or what `onRecord` throws.
  package mutating func finish(onRecord: (JSONRecord) throws -> Void) throws {
    if let rest = self.skipper.finish() {
      try self.read(rest, onRecord: onRecord)
    }
    if self.scanner.isInObject {
      try self.carry.withUnsafeReadableBytes { raw throws(FormatError) in
        _ = try JSONObjectParser.parseRecord(raw, base: self.scanner.objectOffset, record: self.scanner.number)
      }
    }
    if let bad = self.validator.finish() {
      throw self.invalidUTF8(at: bad)
    }
    _ = try self.scanner.finish()
    guard self.scanner.layout != nil else {
      throw FormatError.malformed(
        "the input holds no JSON: expected a JSON array of objects or one object per line",
        offset: self.scanner.pieceOffset
      )
    }
  }

  private mutating func read(_ bytes: ByteBuffer, onRecord: (JSONRecord) throws -> Void) throws {
    try bytes.withUnsafeReadableBytes { raw in
      var limit = raw.count
      let bad = self.validator.validate(raw, at: self.scanner.pieceOffset)
      if let bad {
        limit = max(0, Int(bad - self.scanner.pieceOffset))
      }
      var index = 0
      while let event = try self.scanner.next(raw, upTo: limit, at: &index) {
        switch event {
        case .objectStart(let start):
          self.objectStart = start
        case .objectEnd(let end, _):
          try onRecord(try self.record(endingAt: end, raw: raw, bytes: bytes))
        case .lineEnd:
          break
        }
      }
      if let bad {
        throw self.invalidUTF8(at: bad)
      }
      if self.scanner.isInObject {
        let from = max(self.objectStart, 0)
        self.carry.writeBytes(UnsafeRawBufferPointer(rebasing: raw[from ..< raw.count]))
        self.objectStart = -1
        try self.checkLength(self.carry.readableBytes)
      }
      self.scanner.endPiece(count: raw.count)
    }
  }

  /// Parses the object that ends before `end` in the current piece.
  private mutating func record(
    endingAt end: Int,
    raw: UnsafeRawBufferPointer,
    bytes: ByteBuffer
  ) throws(FormatError) -> JSONRecord {
    let objectBytes: ByteBuffer
    if self.objectStart >= 0 {
      objectBytes =
        bytes.getSlice(at: bytes.readerIndex + self.objectStart, length: end - self.objectStart) ?? ByteBuffer()
    } else {
      self.carry.writeBytes(UnsafeRawBufferPointer(rebasing: raw[0 ..< end]))
      objectBytes = self.carry
      self.carry = ByteBuffer()
    }
    try self.checkLength(objectBytes.readableBytes)
    let number = self.scanner.number
    let offset = self.scanner.objectOffset
    let fields = try objectBytes.withUnsafeReadableBytes { object throws(FormatError) in
      try JSONObjectParser.parseRecord(object, base: offset, record: number)
    }
    return JSONRecord(number: number, offset: offset, fields: fields, raw: objectBytes)
  }

  private func checkLength(_ length: Int) throws(FormatError) {
    guard length <= self.maxRecordBytes else {
      throw .limitExceeded(
        "\(FormatError.place(record: self.scanner.number, offset: self.scanner.objectOffset)) is longer than "
          + "\(self.maxRecordBytes) bytes",
        offset: self.scanner.objectOffset,
        record: self.scanner.number
      )
    }
  }

  private func invalidUTF8(at offset: Int64) -> FormatError {
    let record = self.scanner.isInObject ? self.scanner.number : self.scanner.number + 1
    let place =
      self.scanner.isInObject
      ? FormatError.place(record: record, offset: self.scanner.objectOffset) : "the input"
    return .malformed("\(place) is not valid UTF-8 at byte \(offset)", offset: offset, record: record)
  }
}
