/// Finds the top-level objects of a JSON stream fed in pieces, without parsing them.
///
/// The layout is decided by the first byte that is not whitespace: `[` is one JSON array of
/// objects, `{` is newline-delimited JSON (an object per line, blank lines allowed). The scanner
/// checks everything outside the objects (commas, brackets, one object per line, nothing after
/// the array) and, inside an object, only strings and the nesting of brackets: that is enough to
/// find where each object ends. `JSONObjectParser` checks an object's content.
struct JSONStructureScanner {
  /// How the stream lays out its records.
  enum Layout {
    /// One JSON array of objects.
    case array
    /// Newline-delimited JSON: one object per line.
    case lines
  }

  /// What `next` found.
  enum Event {
    /// An object starts at this index of the piece (its `{`).
    case objectStart(Int)
    /// The object ends before this index. When `balanced` is false a closing bracket did not
    /// match its opening one: the object is malformed and ends at that bracket.
    case objectEnd(Int, balanced: Bool)
    /// In newline-delimited JSON: the line of the last object ends before this index.
    case lineEnd(Int)
  }

  private enum Position {
    case start
    case arrayOpen
    case afterElement
    case afterComma
    case arrayClosed
    case betweenLines
    case afterLineObject
    case inObject
  }

  /// The deepest nesting of arrays and objects accepted, counting the record itself.
  static let maxDepth = 256

  /// The layout, once the first byte that is not whitespace was seen.
  private(set) var layout: Layout?
  private var position = Position.start
  /// The opening brackets of the object in progress, outermost first.
  private var brackets: [UInt8] = []
  private var inString = false
  private var escaped = false
  private var commaOffset: Int64 = 0
  private let firstRecord: Int64
  /// The number of the last record started.
  private(set) var number: Int64
  /// The stream offset of the last record's `{`.
  private(set) var objectOffset: Int64 = 0
  /// The stream offset of the current piece's first byte.
  private(set) var pieceOffset: Int64

  /// A scanner whose first record is numbered `firstRecord` and whose first byte is at stream
  /// offset `startOffset`.
  init(firstRecord: Int64, startOffset: Int64) {
    self.firstRecord = firstRecord
    self.number = firstRecord - 1
    self.pieceOffset = startOffset
  }

  /// Whether an object is in progress.
  var isInObject: Bool { self.position == .inObject }

  /// Takes the stream up again just after a complete record: `records` records ended before stream
  /// offset `offset`, laid out as `layout`.
  mutating func resume(layout: Layout, records: Int64, offset: Int64) {
    self.layout = layout
    self.position = layout == .array ? .afterElement : .betweenLines
    self.number = self.firstRecord - 1 + records
    self.pieceOffset = offset
  }

  /// Counts bytes the owner dropped from the stream before the next piece (a byte order mark).
  mutating func skip(_ count: Int64) {
    self.pieceOffset += count
  }

  /// The current piece was used up; the next one follows it in the stream.
  mutating func endPiece(count: Int) {
    self.pieceOffset += Int64(count)
  }

  /// Scans the current piece from `index` up to `limit` for the next event.
  mutating func next(
    _ raw: UnsafeRawBufferPointer,
    upTo limit: Int,
    at index: inout Int
  ) throws(FormatError) -> Event? {
    var i = index
    defer { index = i }
    while i < limit {
      let byte = raw[i]
      switch self.position {
      case .inObject:
        if let end = try self.scanObject(raw, upTo: limit, at: &i) {
          return end
        }
        continue
      case .start:
        if ASCII.isJSONWhitespace(byte) {
          i += 1
        } else if byte == ASCII.openBracket {
          self.layout = .array
          self.position = .arrayOpen
          i += 1
        } else if byte == ASCII.openBrace {
          self.layout = .lines
          return self.startObject(at: &i)
        } else {
          throw self.elementError(byte, raw: raw, at: i)
        }
      case .arrayOpen, .betweenLines:
        if ASCII.isJSONWhitespace(byte) {
          i += 1
        } else if byte == ASCII.openBrace {
          return self.startObject(at: &i)
        } else if byte == ASCII.closeBracket && self.position == .arrayOpen {
          self.position = .arrayClosed
          i += 1
        } else {
          throw self.elementError(byte, raw: raw, at: i)
        }
      case .afterElement:
        if ASCII.isJSONWhitespace(byte) {
          i += 1
        } else if byte == ASCII.comma {
          self.commaOffset = self.pieceOffset + Int64(i)
          self.position = .afterComma
          i += 1
        } else if byte == ASCII.closeBracket {
          self.position = .arrayClosed
          i += 1
        } else {
          let offset = self.pieceOffset + Int64(i)
          throw .malformed(
            "expected ',' or ']' after record \(self.number), found \(FormatError.describe(byte: byte)) "
              + "at byte \(offset)",
            offset: offset
          )
        }
      case .afterComma:
        if ASCII.isJSONWhitespace(byte) {
          i += 1
        } else if byte == ASCII.openBrace {
          return self.startObject(at: &i)
        } else if byte == ASCII.closeBracket {
          throw .malformed(
            "the JSON array has a trailing comma at byte \(self.commaOffset): ']' follows it at byte "
              + "\(self.pieceOffset + Int64(i))",
            offset: self.commaOffset
          )
        } else {
          throw self.elementError(byte, raw: raw, at: i)
        }
      case .arrayClosed:
        guard ASCII.isJSONWhitespace(byte) else {
          let offset = self.pieceOffset + Int64(i)
          throw .malformed(
            "unexpected \(FormatError.describe(byte: byte)) at byte \(offset) after the end of the JSON array, "
              + "near \(Self.context(raw, at: i))",
            offset: offset
          )
        }
        i += 1
      case .afterLineObject:
        if byte == ASCII.lineFeed {
          self.position = .betweenLines
          i += 1
          return .lineEnd(i)
        } else if byte == ASCII.space || byte == ASCII.tab || byte == ASCII.carriageReturn {
          i += 1
        } else {
          let offset = self.pieceOffset + Int64(i)
          throw .malformed(
            "\(FormatError.place(record: self.number, offset: self.objectOffset)) is followed by "
              + "\(FormatError.describe(byte: byte)) at byte \(offset) on the same line; "
              + "newline-delimited JSON has one object per line",
            offset: offset,
            record: self.number
          )
        }
      }
    }
    return nil
  }

  /// The stream has ended.
  ///
  /// - Returns: whether the last object's line ends with the stream (newline-delimited JSON
  ///   without a final line feed).
  /// - Throws: `FormatError` when an object or the array is not closed.
  mutating func finish() throws(FormatError) -> Bool {
    switch self.position {
    case .start, .arrayClosed, .betweenLines:
      return false
    case .afterLineObject:
      self.position = .betweenLines
      return true
    case .arrayOpen, .afterElement, .afterComma:
      throw .malformed(
        "the JSON array is not closed: the input ends at byte \(self.pieceOffset)",
        offset: self.pieceOffset
      )
    case .inObject:
      throw .malformed(
        "\(FormatError.place(record: self.number, offset: self.objectOffset)) is not closed: "
          + "the input ends at byte \(self.pieceOffset)",
        offset: self.pieceOffset,
        record: self.number
      )
    }
  }

  private mutating func startObject(at index: inout Int) -> Event {
    self.number += 1
    self.objectOffset = self.pieceOffset + Int64(index)
    self.brackets.removeAll(keepingCapacity: true)
    self.brackets.append(ASCII.openBrace)
    self.inString = false
    self.escaped = false
    self.position = .inObject
    index += 1
    return .objectStart(index - 1)
  }

  /// Scans inside an object; returns its end when the outermost bracket closes or a bracket does
  /// not match.
  private mutating func scanObject(
    _ raw: UnsafeRawBufferPointer,
    upTo limit: Int,
    at index: inout Int
  ) throws(FormatError) -> Event? {
    var i = index
    defer { index = i }
    while i < limit {
      let byte = raw[i]
      i += 1
      if self.inString {
        if self.escaped {
          self.escaped = false
        } else if byte == ASCII.quote {
          self.inString = false
        } else if byte == ASCII.backslash {
          self.escaped = true
        }
      } else if byte == ASCII.quote {
        self.inString = true
      } else if byte == ASCII.openBrace || byte == ASCII.openBracket {
        guard self.brackets.count < Self.maxDepth else {
          let offset = self.pieceOffset + Int64(i - 1)
          throw .limitExceeded(
            "\(FormatError.place(record: self.number, offset: self.objectOffset)) nests deeper than "
              + "\(Self.maxDepth) levels at byte \(offset)",
            offset: offset,
            record: self.number
          )
        }
        self.brackets.append(byte)
      } else if byte == ASCII.closeBrace || byte == ASCII.closeBracket {
        let opening = self.brackets.removeLast()
        let balanced = (opening == ASCII.openBrace) == (byte == ASCII.closeBrace)
        if !balanced || self.brackets.isEmpty {
          self.position = self.layout == .array ? .afterElement : .afterLineObject
          return .objectEnd(i, balanced: balanced)
        }
      }
    }
    return nil
  }

  private func elementError(_ byte: UInt8, raw: UnsafeRawBufferPointer, at index: Int) -> FormatError {
    let offset = self.pieceOffset + Int64(index)
    let record = self.number + 1
    let kind: String? =
      switch byte {
      case ASCII.quote: "a string"
      case ASCII.minus, ASCII.zero ... ASCII.nine: "a number"
      case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
      case UInt8(ascii: "n"): "null"
      case ASCII.openBracket: "an array"
      default: nil
      }
    if let kind {
      return .malformed(
        "\(FormatError.place(record: record, offset: offset)) is \(kind), expected an object",
        offset: offset,
        record: record
      )
    }
    let expected =
      switch self.position {
      case .start: "expected '[' or '{'"
      case .arrayOpen: "expected an object or ']'"
      default: "expected an object"
      }
    return .malformed(
      "unexpected \(FormatError.describe(byte: byte)) at byte \(offset), \(expected), near "
        + Self.context(raw, at: index),
      offset: offset,
      record: record
    )
  }

  private static func context(_ raw: UnsafeRawBufferPointer, at index: Int) -> String {
    FormatError.quoted(
      UnsafeRawBufferPointer(rebasing: raw[index ..< min(raw.count, index + FormatError.contextLength)])
    )
  }
}
