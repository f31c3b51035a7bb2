internal import NIOCore

/// Where one field's value lies in the bytes of its record.
struct CSVFieldSpan {
  /// The value's first byte (after an opening quote), relative to the record's first byte.
  var start: Int
  /// One past the value's last byte (before a closing quote).
  var end: Int
  /// Whether the value holds doubled quotes (`""`) that stand for one quote each.
  var hasDoubledQuotes: Bool
}

/// One complete record found by `CSVRecordScanner`; its fields are the scanner's `spans`.
struct CSVScannedRecord {
  /// The record's number: 0 for a header, then 1, 2, … (or from the number the scanner began at).
  var number: Int64
  /// The stream offset of the record's first byte.
  var offset: Int64
  /// The record's bytes without its line end.
  var raw: ByteBuffer
}

/// Finds CSV records (RFC 4180) and their fields in a stream fed in pieces, and checks them
/// strictly: quotes open a field or close it, a quote inside an unquoted field or a byte after a
/// closing quote is an error, and the stream must be UTF-8.
///
/// A line feed ends a record, with or without a carriage return before it; a carriage return
/// followed by anything else is data. A line with no bytes is skipped. The owner feeds a piece with
/// `beginFeed(_:)` and then calls `next(_:in:at:)` until it returns `nil`; a record cut by the end
/// of a piece is carried over, up to `maxRecordBytes`.
struct CSVRecordScanner {
  private enum State {
    /// Between records.
    case lineStart
    /// A carriage return at a line start: a blank CRLF line, or a record whose first byte it is.
    case lineStartCarriageReturn
    /// At the first byte of a field.
    case fieldStart
    case unquoted
    case quoted
    /// A quote inside a quoted field: the closing one, or the first of a doubled pair.
    case quoteInQuoted
    /// A carriage return in an unquoted field or after a closing quote: a line end if a line feed follows.
    case carriageReturn
  }

  /// The field separator.
  let delimiter: UInt8
  /// The longest record accepted, in bytes.
  let maxRecordBytes: Int
  /// Whether the first record is a header, named so in messages.
  private let hasHeader: Bool
  private let firstNumber: Int64

  private var state = State.lineStart
  /// The fields of the record in progress, and of the record `next` returned last.
  private(set) var spans: [CSVFieldSpan] = []
  private var fieldStart = 0
  private var fieldEnd = 0
  private var fieldHasDoubledQuotes = false
  /// Whether a carriage return followed a closing quote (then it must end the line).
  private var carriageReturnAfterQuote = false
  private var carriageReturnPosition = 0
  private var openingQuoteOffset: Int64 = 0

  /// The index in the current piece of the record's first byte; negative when the record began in
  /// an earlier piece and `carry` holds its first bytes.
  private var recordBase = 0
  private var carry = ByteBuffer()
  private var recordOffset: Int64 = 0
  /// The number of the record in progress, or of the next one.
  private(set) var number: Int64
  /// The stream offset of the current piece's first byte.
  private(set) var pieceOffset: Int64 = 0

  private var validator = UTF8Validator()
  private var validLength = 0
  private var invalidOffset: Int64?

  /// A scanner whose first record gets `firstNumber`; with `hasHeader` that record is the header.
  init(delimiter: UInt8, maxRecordBytes: Int, hasHeader: Bool, firstNumber: Int64, startOffset: Int64) {
    self.delimiter = delimiter
    self.maxRecordBytes = maxRecordBytes
    self.hasHeader = hasHeader
    self.firstNumber = firstNumber
    self.number = firstNumber
    self.pieceOffset = startOffset
  }

  /// Names the record in progress for a message.
  var place: String {
    FormatError.place(
      record: self.number,
      offset: self.recordOffset,
      isHeader: self.hasHeader && self.number == self.firstNumber
    )
  }

  /// Counts bytes the owner dropped from the stream before the next piece (a byte order mark).
  mutating func skip(_ count: Int64) {
    self.pieceOffset += count
  }

  /// Starts a new piece of the stream and checks its UTF-8.
  mutating func beginFeed(_ raw: UnsafeRawBufferPointer) {
    if let bad = self.validator.validate(raw, at: self.pieceOffset) {
      self.invalidOffset = bad
      self.validLength = max(0, Int(bad - self.pieceOffset))
    } else {
      self.validLength = raw.count
    }
  }

  /// Scans the current piece from `index` to the next complete record.
  ///
  /// - Parameters:
  ///   - raw: the piece's bytes.
  ///   - buffer: the piece, for slicing the record's bytes out of it.
  /// - Returns: the record, with its fields in `spans` until the next call; `nil` once the piece
  ///   is used up (a partial record is carried over).
  mutating func next(
    _ raw: UnsafeRawBufferPointer,
    in buffer: ByteBuffer,
    at index: inout Int
  ) throws(FormatError) -> CSVScannedRecord? {
    let limit = self.validLength
    let quote = ASCII.quote
    let lineFeed = ASCII.lineFeed
    let carriageReturn = ASCII.carriageReturn
    let delimiter = self.delimiter
    var i = index
    defer { index = i }
    while i < limit {
      let byte = raw[i]
      switch self.state {
      case .lineStart:
        if byte == lineFeed {
          i += 1
          continue
        }
        self.spans.removeAll(keepingCapacity: true)
        self.recordBase = i
        self.recordOffset = self.pieceOffset + Int64(i)
        if byte == carriageReturn {
          self.state = .lineStartCarriageReturn
          i += 1
        } else {
          self.state = .fieldStart
        }
      case .lineStartCarriageReturn:
        if byte == lineFeed {
          self.state = .lineStart
          self.carry = ByteBuffer()
          i += 1
        } else {
          self.fieldStart = 0
          self.state = .unquoted
        }
      case .fieldStart:
        self.fieldHasDoubledQuotes = false
        let position = i - self.recordBase
        i += 1
        if byte == quote {
          self.fieldStart = position + 1
          self.openingQuoteOffset = self.pieceOffset + Int64(i - 1)
          self.state = .quoted
        } else if byte == delimiter {
          self.endField(start: position, end: position)
        } else if byte == lineFeed {
          self.endField(start: position, end: position)
          return try self.completeRecord(length: position, raw: raw, buffer: buffer)
        } else if byte == carriageReturn {
          self.fieldStart = position
          self.fieldEnd = position
          self.carriageReturnAt(position, afterQuote: false)
        } else {
          self.fieldStart = position
          self.state = .unquoted
        }
      case .unquoted:
        while i < limit {
          let next = raw[i]
          if next > quote && next != delimiter {
            i += 1
          } else if next == delimiter || next == quote || next == lineFeed || next == carriageReturn {
            break
          } else {
            i += 1
          }
        }
        guard i < limit else { continue }
        let stop = raw[i]
        let position = i - self.recordBase
        if stop == delimiter {
          self.endField(start: self.fieldStart, end: position)
          i += 1
        } else if stop == lineFeed {
          self.endField(start: self.fieldStart, end: position)
          i += 1
          return try self.completeRecord(length: position, raw: raw, buffer: buffer)
        } else if stop == carriageReturn {
          self.fieldEnd = position
          self.carriageReturnAt(position, afterQuote: false)
          i += 1
        } else {
          throw .malformed(
            "\(self.place) has a quote inside an unquoted field at byte \(self.pieceOffset + Int64(i)), near "
              + Self.context(raw, around: i),
            offset: self.pieceOffset + Int64(i),
            record: self.number
          )
        }
      case .quoted:
        while i < limit && raw[i] != quote {
          i += 1
        }
        guard i < limit else { continue }
        self.fieldEnd = i - self.recordBase
        self.state = .quoteInQuoted
        i += 1
      case .quoteInQuoted:
        let position = i - self.recordBase
        if byte == quote {
          self.fieldHasDoubledQuotes = true
          self.state = .quoted
          i += 1
        } else if byte == delimiter {
          self.endField(start: self.fieldStart, end: self.fieldEnd)
          i += 1
        } else if byte == lineFeed {
          self.endField(start: self.fieldStart, end: self.fieldEnd)
          i += 1
          return try self.completeRecord(length: position, raw: raw, buffer: buffer)
        } else if byte == carriageReturn {
          self.carriageReturnAt(position, afterQuote: true)
          i += 1
        } else {
          throw self.byteAfterClosingQuote(byte, raw: raw, at: i)
        }
      case .carriageReturn:
        if byte == lineFeed {
          self.endField(start: self.fieldStart, end: self.fieldEnd)
          i += 1
          return try self.completeRecord(length: self.carriageReturnPosition, raw: raw, buffer: buffer)
        } else if self.carriageReturnAfterQuote {
          throw self.byteAfterClosingQuote(carriageReturn, raw: raw, at: i - 1)
        } else {
          self.state = .unquoted
        }
      }
    }
    if let invalidOffset = self.invalidOffset {
      if self.state == .lineStart {
        self.recordOffset = invalidOffset
      }
      throw .malformed(
        "\(self.place) is not valid UTF-8 at byte \(invalidOffset)",
        offset: invalidOffset,
        record: self.number
      )
    }
    try self.carryPartialRecord(raw)
    return nil
  }

  /// The stream has ended: the last record when it had no line end, or `nil`.
  mutating func finish() throws(FormatError) -> CSVScannedRecord? {
    if self.state == .quoted {
      throw .malformed(
        "\(self.place) has a quoted field that is never closed: the quote at byte \(self.openingQuoteOffset) "
          + "has no closing quote before the end of the input",
        offset: self.openingQuoteOffset,
        record: self.number
      )
    }
    if let bad = self.validator.finish() {
      throw .malformed("\(self.place) is not valid UTF-8 at byte \(bad)", offset: bad, record: self.number)
    }
    let length = self.carry.readableBytes
    let recordLength: Int
    switch self.state {
    case .lineStart, .lineStartCarriageReturn, .quoted:
      self.state = .lineStart
      return nil
    case .fieldStart:
      self.endField(start: length, end: length)
      recordLength = length
    case .unquoted:
      self.endField(start: self.fieldStart, end: length)
      recordLength = length
    case .quoteInQuoted:
      self.endField(start: self.fieldStart, end: self.fieldEnd)
      recordLength = length
    case .carriageReturn:
      self.endField(start: self.fieldStart, end: self.fieldEnd)
      recordLength = self.carriageReturnPosition
    }
    // Every piece was carried over at its end, so the record lies whole in `carry`.
    return try self.completeRecord(
      length: recordLength,
      raw: UnsafeRawBufferPointer(start: nil, count: 0),
      buffer: ByteBuffer()
    )
  }

  private mutating func endField(start: Int, end: Int) {
    self.spans.append(CSVFieldSpan(start: start, end: end, hasDoubledQuotes: self.fieldHasDoubledQuotes))
    self.fieldHasDoubledQuotes = false
    self.state = .fieldStart
  }

  private mutating func carriageReturnAt(_ position: Int, afterQuote: Bool) {
    self.carriageReturnPosition = position
    self.carriageReturnAfterQuote = afterQuote
    self.state = .carriageReturn
  }

  /// Ends the record in progress: its bytes are the first `length` (line end excluded).
  private mutating func completeRecord(
    length: Int,
    raw: UnsafeRawBufferPointer,
    buffer: ByteBuffer
  ) throws(FormatError) -> CSVScannedRecord {
    guard length <= self.maxRecordBytes else { throw self.recordTooLong() }
    let bytes: ByteBuffer
    if self.recordBase >= 0 {
      bytes = buffer.getSlice(at: buffer.readerIndex + self.recordBase, length: length) ?? ByteBuffer()
    } else {
      let fromPiece = length - self.carry.readableBytes
      if fromPiece > 0 {
        self.carry.writeBytes(UnsafeRawBufferPointer(rebasing: raw[0 ..< fromPiece]))
      }
      bytes = self.carry.getSlice(at: self.carry.readerIndex, length: length) ?? ByteBuffer()
      self.carry = ByteBuffer()
    }
    let record = CSVScannedRecord(number: self.number, offset: self.recordOffset, raw: bytes)
    self.number += 1
    self.state = .lineStart
    return record
  }

  /// Keeps the bytes of a record cut by the end of the piece, and moves on to the next piece.
  private mutating func carryPartialRecord(_ raw: UnsafeRawBufferPointer) throws(FormatError) {
    if self.state != .lineStart {
      let from = max(self.recordBase, 0)
      self.carry.writeBytes(UnsafeRawBufferPointer(rebasing: raw[from ..< raw.count]))
      self.recordBase -= raw.count
      guard self.carry.readableBytes <= self.maxRecordBytes else { throw self.recordTooLong() }
    }
    self.pieceOffset += Int64(raw.count)
  }

  private func recordTooLong() -> FormatError {
    .limitExceeded(
      "\(self.place) is longer than \(self.maxRecordBytes) bytes",
      offset: self.recordOffset,
      record: self.number
    )
  }

  private func byteAfterClosingQuote(_ byte: UInt8, raw: UnsafeRawBufferPointer, at index: Int) -> FormatError {
    let offset = self.pieceOffset + Int64(index)
    return .malformed(
      "\(self.place) has \(FormatError.describe(byte: byte)) after the closing quote of field \(self.spans.count + 1) "
        + "at byte \(offset), near \(Self.context(raw, around: index))",
      offset: offset,
      record: self.number
    )
  }

  /// A few bytes on either side of `index`, quoted for a message (`…` when more follow).
  private static func context(_ raw: UnsafeRawBufferPointer, around index: Int) -> String {
    let lower = max(0, index - FormatError.contextLength / 2)
    let upper = min(raw.count, lower + FormatError.contextLength + 1)
    return FormatError.quoted(UnsafeRawBufferPointer(rebasing: raw[lower ..< upper]))
  }
}
