internal import Foundation

/// Finds where CSV records end, fast, without reading their fields: it tracks only whether a
/// quote is open, and jumps from one line feed or quote to the next with `memchr`.
///
/// A quote toggles the quoted state, which covers doubled quotes; a line feed outside quotes ends
/// a record. A line with no bytes (LF or CRLF) is no record. Well-formed CSV is cut exactly as
/// `CSVRecordScanner` reads it; malformed CSV is left for the reader of each chunk to report.
struct CSVBoundaryScanner {
  private enum State {
    case lineStart
    case lineStartCarriageReturn
    case unquoted
    case quoted
  }

  private var state = State.lineStart
  /// The index of the next quote in the piece at or after the scan position (the piece's length
  /// when there is none); stale when below the scan position.
  private var nextQuote = -1
  /// The number of the record in progress or of the next one (the header is record 0).
  private(set) var number: Int64 = 0
  /// The stream offset of the record in progress.
  private(set) var recordOffset: Int64 = 0
  private var openingQuoteOffset: Int64 = 0
  /// The stream offset of the current piece's first byte.
  private(set) var pieceOffset: Int64 = 0

  /// Counts bytes dropped before the next piece (a byte order mark).
  mutating func skip(_ count: Int64) {
    self.pieceOffset += count
  }

  /// Continues as if `bytes` more bytes holding `records` records had been read, at a record
  /// boundary.
  mutating func skipRecords(bytes: Int64, records: Int64) {
    self.pieceOffset += bytes
    self.number += records
  }

  /// Starts the next piece.
  mutating func beginPiece() {
    self.nextQuote = -1
  }

  /// The current piece was used up.
  mutating func endPiece(count: Int) {
    self.pieceOffset += Int64(count)
  }

  /// Scans from `index` to the end of the next record.
  ///
  /// The hot path is straight-line code rather than a state switch per step: between records it
  /// skips blank lines, then it jumps from line feed to quote to closing quote until a line feed
  /// comes before the next quote.
  ///
  /// - Returns: the index after the line feed that ends the record, or `nil` when the piece is
  ///   used up.
  @inline(__always)
  mutating func next(_ raw: UnsafeRawBufferPointer, at index: inout Int) -> Int? {
    let count = raw.count
    var i = index
    defer { index = i }
    while self.state == .lineStart || self.state == .lineStartCarriageReturn {
      guard i < count else { return nil }
      let byte = raw[i]
      if self.state == .lineStartCarriageReturn {
        if byte == ASCII.lineFeed {
          self.state = .lineStart
          i += 1
        } else {
          self.state = .unquoted
        }
      } else if byte == ASCII.lineFeed {
        i += 1
      } else {
        self.recordOffset = self.pieceOffset + Int64(i)
        if byte == ASCII.carriageReturn {
          self.state = .lineStartCarriageReturn
          i += 1
        } else {
          self.state = .unquoted
        }
      }
    }
    if self.state == .quoted {
      let closing = Self.find(ASCII.quote, in: raw, from: i, to: count)
      guard closing < count else {
        i = count
        return nil
      }
      i = closing + 1
      self.state = .unquoted
    }
    while true {
      if self.nextQuote < i {
        self.nextQuote = Self.find(ASCII.quote, in: raw, from: i, to: count)
      }
      let lineFeed = Self.find(ASCII.lineFeed, in: raw, from: i, to: self.nextQuote)
      if lineFeed < self.nextQuote {
        i = lineFeed + 1
        self.state = .lineStart
        self.number += 1
        return i
      }
      guard self.nextQuote < count else {
        i = count
        return nil
      }
      self.openingQuoteOffset = self.pieceOffset + Int64(self.nextQuote)
      let closing = Self.find(ASCII.quote, in: raw, from: self.nextQuote + 1, to: count)
      guard closing < count else {
        i = count
        self.state = .quoted
        return nil
      }
      i = closing + 1
    }
  }

  /// The stream has ended.
  ///
  /// - Returns: whether a last record ends with the stream (it had no line end).
  /// - Throws: `FormatError` when a quote is still open.
  mutating func finish() throws(FormatError) -> Bool {
    switch self.state {
    case .lineStart, .lineStartCarriageReturn:
      return false
    case .unquoted:
      self.state = .lineStart
      self.number += 1
      return true
    case .quoted:
      let place = FormatError.place(record: self.number, offset: self.recordOffset, isHeader: self.number == 0)
      throw .malformed(
        "\(place) has a quoted field that is never closed: the quote at byte \(self.openingQuoteOffset) "
          + "has no closing quote before the end of the input",
        offset: self.openingQuoteOffset,
        record: self.number
      )
    }
  }

  /// The index of the first `byte` in `start ..< end`, or `end`.
  @inline(__always)
  private static func find(_ byte: UInt8, in raw: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
    guard start < end, let base = raw.baseAddress, let found = memchr(base + start, Int32(byte), end - start) else {
      return end
    }
    return base.distance(to: UnsafeRawPointer(found))
  }
}
