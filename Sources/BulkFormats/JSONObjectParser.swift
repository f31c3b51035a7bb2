/// Parses one JSON object (RFC 8259) from contiguous bytes into its members, checking every
/// token: strings and their escapes (with surrogate pairs), numbers, literals and nesting.
///
/// The bytes come from `JSONStructureScanner`, which has already bounded their nesting to
/// `JSONStructureScanner.maxDepth`, so the recursion here is bounded too. UTF-8 is checked by the
/// owner before.
struct JSONObjectParser {
  private let bytes: UnsafeRawBufferPointer
  /// The stream offset of `bytes[0]`, the object's `{`.
  private let base: Int64
  private let record: Int64
  private var index = 0
  /// Reused for strings with escapes.
  private var scratch: [UInt8] = []

  private init(bytes: UnsafeRawBufferPointer, base: Int64, record: Int64) {
    self.bytes = bytes
    self.base = base
    self.record = record
  }

  /// Parses the object that `bytes` hold (from `{` to its `}`) as record `record`, whose `{` is at
  /// stream offset `base`.
  ///
  /// - Returns: the members in document order.
  /// - Throws: `FormatError` for the first fault, or when a top-level key appears twice.
  static func parseRecord(
    _ bytes: UnsafeRawBufferPointer,
    base: Int64,
    record: Int64
  ) throws(FormatError) -> [(key: String, value: JSONValue)] {
    var parser = JSONObjectParser(bytes: bytes, base: base, record: record)
    parser.index = 1
    let members = try parser.parseMembers(checkingDuplicates: true)
    return members
  }

  // MARK: - Values

  private mutating func parseValue() throws(FormatError) -> JSONValue {
    self.skipWhitespace()
    guard let byte = self.peek() else { throw self.endError("a value") }
    switch byte {
    case ASCII.openBrace:
      self.index += 1
      return .object(try self.parseMembers(checkingDuplicates: false))
    case ASCII.openBracket:
      self.index += 1
      return .array(try self.parseElements())
    case ASCII.quote:
      return .string(try self.parseString())
    case ASCII.minus, ASCII.zero ... ASCII.nine:
      return .number(try self.parseNumber())
    case UInt8(ascii: "t"):
      try self.parseLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try self.parseLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try self.parseLiteral("null")
      return .null
    default:
      throw self.error("expected a value, found \(FormatError.describe(byte: byte))")
    }
  }

  /// Parses an object's members after its `{`, through its `}`.
  private mutating func parseMembers(checkingDuplicates: Bool) throws(FormatError) -> [(key: String, value: JSONValue)]
  {
    var members: [(key: String, value: JSONValue)] = []
    var keys: Set<String> = []
    self.skipWhitespace()
    if self.peek() == ASCII.closeBrace {
      self.index += 1
      return members
    }
    while true {
      self.skipWhitespace()
      guard let byte = self.peek() else { throw self.endError("a key") }
      guard byte == ASCII.quote else {
        let after = members.isEmpty ? "after '{'" : "after ','"
        throw self.error("expected a key in quotes \(after), found \(FormatError.describe(byte: byte))")
      }
      let keyOffset = self.base + Int64(self.index)
      let key = try self.parseString()
      if checkingDuplicates && !keys.insert(key).inserted {
        throw .malformed(
          "\(self.place) has the key \(Self.quotedKey(key)) twice; the second is at byte \(keyOffset)",
          offset: keyOffset,
          record: self.record
        )
      }
      self.skipWhitespace()
      guard let colon = self.peek() else { throw self.endError("':'") }
      guard colon == ASCII.colon else {
        throw self.error("expected ':' after a key, found \(FormatError.describe(byte: colon))")
      }
      self.index += 1
      members.append((key, try self.parseValue()))
      self.skipWhitespace()
      guard let separator = self.peek() else { throw self.endError("',' or '}'") }
      self.index += 1
      if separator == ASCII.closeBrace {
        return members
      }
      guard separator == ASCII.comma else {
        self.index -= 1
        throw self.error("expected ',' or '}' after a member, found \(FormatError.describe(byte: separator))")
      }
    }
  }

  /// Parses an array's elements after its `[`, through its `]`.
  private mutating func parseElements() throws(FormatError) -> [JSONValue] {
    var elements: [JSONValue] = []
    self.skipWhitespace()
    if self.peek() == ASCII.closeBracket {
      self.index += 1
      return elements
    }
    while true {
      elements.append(try self.parseValue())
      self.skipWhitespace()
      guard let separator = self.peek() else { throw self.endError("',' or ']'") }
      self.index += 1
      if separator == ASCII.closeBracket {
        return elements
      }
      guard separator == ASCII.comma else {
        self.index -= 1
        throw self.error("expected ',' or ']' in an array, found \(FormatError.describe(byte: separator))")
      }
    }
  }

  private mutating func parseLiteral(_ literal: StaticString) throws(FormatError) {
    let count = literal.utf8CodeUnitCount
    let matches =
      self.index + count <= self.bytes.count
      && (0 ..< count).allSatisfy { self.bytes[self.index + $0] == literal.utf8Start[$0] }
    guard matches else { throw self.error("expected \(literal)") }
    self.index += count
  }

  private mutating func parseNumber() throws(FormatError) -> String {
    let start = self.index
    switch JSONNumber.scan(self.bytes, from: start) {
    case .valid(let end):
      self.index = end
      return String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start ..< end]), as: UTF8.self)
    case .invalid(let at, let reason):
      self.index = at
      if at >= self.bytes.count {
        throw self.endError("the rest of a number")
      }
      throw self.error(reason)
    }
  }

  // MARK: - Strings

  /// Parses a string at its opening quote.
  private mutating func parseString() throws(FormatError) -> String {
    let opening = self.index
    self.index += 1
    let start = self.index
    while self.index < self.bytes.count {
      let byte = self.bytes[self.index]
      if byte == ASCII.quote {
        self.index += 1
        return String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start ..< self.index - 1]), as: UTF8.self)
      }
      if byte == ASCII.backslash || byte < 0x20 {
        break
      }
      self.index += 1
    }
    self.scratch.removeAll(keepingCapacity: true)
    self.scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: self.bytes[start ..< self.index]))
    while self.index < self.bytes.count {
      let byte = self.bytes[self.index]
      switch byte {
      case ASCII.quote:
        self.index += 1
        return String(decoding: self.scratch, as: UTF8.self)
      case ASCII.backslash:
        try self.parseEscape()
      case 0 ..< 0x20:
        throw self.error("a string holds the control character \(FormatError.describe(byte: byte)); it must be escaped")
      default:
        self.scratch.append(byte)
        self.index += 1
      }
    }
    let offset = self.base + Int64(opening)
    throw .malformed(
      "\(self.place) has a string starting at byte \(offset) that is not terminated",
      offset: offset,
      record: self.record
    )
  }

  /// Parses an escape at its backslash into `scratch`.
  private mutating func parseEscape() throws(FormatError) {
    guard self.index + 1 < self.bytes.count else { throw self.endError("an escape") }
    let code = self.bytes[self.index + 1]
    let simple: UInt8? =
      switch code {
      case ASCII.quote: ASCII.quote
      case ASCII.backslash: ASCII.backslash
      case UInt8(ascii: "/"): UInt8(ascii: "/")
      case UInt8(ascii: "b"): 0x08
      case UInt8(ascii: "f"): 0x0C
      case UInt8(ascii: "n"): ASCII.lineFeed
      case UInt8(ascii: "r"): ASCII.carriageReturn
      case UInt8(ascii: "t"): ASCII.tab
      default: nil
      }
    if let simple {
      self.scratch.append(simple)
      self.index += 2
      return
    }
    guard code == UInt8(ascii: "u") else {
      throw self.error("\\\(Character(Unicode.Scalar(code))) is not a JSON escape")
    }
    let escapeStart = self.index
    var value = try self.parseHexEscape()
    if (0xD800 ..< 0xDC00).contains(value) {
      let isPair =
        self.index + 1 < self.bytes.count && self.bytes[self.index] == ASCII.backslash
        && self.bytes[self.index + 1] == UInt8(ascii: "u")
      guard isPair else {
        self.index = escapeStart
        throw self.error("the escape of a high surrogate is not followed by a low surrogate")
      }
      let low = try self.parseHexEscape()
      guard (0xDC00 ..< 0xE000).contains(low) else {
        self.index = escapeStart
        throw self.error("the escape of a high surrogate is not followed by a low surrogate")
      }
      value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
    } else if (0xDC00 ..< 0xE000).contains(value) {
      self.index = escapeStart
      throw self.error("the escape of a low surrogate has no high surrogate before it")
    }
    guard let scalar = Unicode.Scalar(value) else {
      self.index = escapeStart
      throw self.error("\\u escape of an invalid code point")
    }
    self.scratch.append(contentsOf: String(Character(scalar)).utf8)
  }

  /// Parses `\uXXXX` at its backslash.
  private mutating func parseHexEscape() throws(FormatError) -> UInt32 {
    guard self.index + 6 <= self.bytes.count else { throw self.endError("a \\u escape") }
    var value: UInt32 = 0
    for offset in 2 ..< 6 {
      let byte = self.bytes[self.index + offset]
      let digit: UInt8
      switch byte {
      case ASCII.zero ... ASCII.nine: digit = byte - ASCII.zero
      case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw self.error("\\u must be followed by four hexadecimal digits")
      }
      value = value << 4 | UInt32(digit)
    }
    self.index += 6
    return value
  }

  // MARK: - Helpers

  private var place: String {
    FormatError.place(record: self.record, offset: self.base)
  }

  private func peek() -> UInt8? {
    self.index < self.bytes.count ? self.bytes[self.index] : nil
  }

  private mutating func skipWhitespace() {
    while self.index < self.bytes.count && ASCII.isJSONWhitespace(self.bytes[self.index]) {
      self.index += 1
    }
  }

  /// An error at the current byte, with the bytes from there quoted.
  private func error(_ reason: String) -> FormatError {
    let offset = self.base + Int64(self.index)
    let context = UnsafeRawBufferPointer(
      rebasing: self.bytes[self.index ..< min(self.bytes.count, self.index + FormatError.contextLength)]
    )
    return .malformed(
      "\(self.place): \(reason) at byte \(offset), near \(FormatError.quoted(context))",
      offset: offset,
      record: self.record
    )
  }

  /// The object's bytes ended while `expected` was due.
  private func endError(_ expected: String) -> FormatError {
    let offset = self.base + Int64(self.bytes.count)
    return .malformed(
      "\(self.place) ends at byte \(offset) where \(expected) was expected",
      offset: offset,
      record: self.record
    )
  }

  private static func quotedKey(_ key: String) -> String {
    var key = key
    return key.withUTF8 { FormatError.quoted(UnsafeRawBufferPointer($0)) }
  }
}
