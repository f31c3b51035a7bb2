package import NIOCore

/// Writes a JSON array of objects incrementally, for results streamed to a client.
///
/// Call `beginArray(into:)` once, `write(object:into:)` for each object and `endArray(into:)`
/// once. The output is `[`, then one object per line, then `]`. Strings are escaped: quote,
/// backslash, `\n`, `\r`, `\t` by their short escapes and every other control character as
/// `\u00XX`. A number whose text is not a JSON number (`NaN`, `Infinity`) is written as a string.
package struct JSONWriter: Sendable {
  private var objects = 0
  private var isOpen = false

  /// A writer before its array.
  package init() {}

  /// Writes the array's `[`.
  package mutating func beginArray(into buffer: inout ByteBuffer) {
    assert(!self.isOpen, "beginArray called twice")
    self.isOpen = true
    buffer.writeInteger(ASCII.openBracket)
  }

  /// Writes one object of the array, its members in the given order.
  package mutating func write(object fields: [(key: String, value: JSONValue)], into buffer: inout ByteBuffer) {
    assert(self.isOpen, "write(object:into:) called outside beginArray and endArray")
    if self.objects > 0 {
      buffer.writeInteger(ASCII.comma)
    }
    buffer.writeInteger(ASCII.lineFeed)
    Self.write(members: fields, into: &buffer)
    self.objects += 1
  }

  /// Writes the array's `]` and a final line feed.
  package mutating func endArray(into buffer: inout ByteBuffer) {
    assert(self.isOpen, "endArray called before beginArray")
    self.isOpen = false
    buffer.writeInteger(ASCII.lineFeed)
    buffer.writeInteger(ASCII.closeBracket)
    buffer.writeInteger(ASCII.lineFeed)
  }

  /// Writes one JSON value, without whitespace.
  package static func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
    switch value {
    case .null:
      buffer.writeStaticString("null")
    case .bool(let value):
      let literal: StaticString = value ? "true" : "false"
      buffer.writeStaticString(literal)
    case .number(let literal):
      if JSONNumber.isValid(literal) {
        buffer.writeString(literal)
      } else {
        Self.write(string: literal, into: &buffer)
      }
    case .string(let string):
      Self.write(string: string, into: &buffer)
    case .array(let elements):
      buffer.writeInteger(ASCII.openBracket)
      for (index, element) in elements.enumerated() {
        if index > 0 {
          buffer.writeInteger(ASCII.comma)
        }
        Self.write(element, into: &buffer)
      }
      buffer.writeInteger(ASCII.closeBracket)
    case .object(let members):
      Self.write(members: members, into: &buffer)
    }
  }

  private static func write(members: [(key: String, value: JSONValue)], into buffer: inout ByteBuffer) {
    buffer.writeInteger(ASCII.openBrace)
    for (index, member) in members.enumerated() {
      if index > 0 {
        buffer.writeInteger(ASCII.comma)
      }
      Self.write(string: member.key, into: &buffer)
      buffer.writeInteger(ASCII.colon)
      Self.write(member.value, into: &buffer)
    }
    buffer.writeInteger(ASCII.closeBrace)
  }

  /// Writes a string in quotes, escaped.
  private static func write(string: String, into buffer: inout ByteBuffer) {
    var string = string
    buffer.writeInteger(ASCII.quote)
    string.withUTF8 { utf8 in
      let bytes = UnsafeRawBufferPointer(utf8)
      var start = 0
      for index in bytes.indices {
        let byte = bytes[index]
        guard byte < 0x20 || byte == ASCII.quote || byte == ASCII.backslash else { continue }
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start ..< index]))
        start = index + 1
        switch byte {
        case ASCII.quote: buffer.writeStaticString("\\\"")
        case ASCII.backslash: buffer.writeStaticString("\\\\")
        case ASCII.lineFeed: buffer.writeStaticString("\\n")
        case ASCII.carriageReturn: buffer.writeStaticString("\\r")
        case ASCII.tab: buffer.writeStaticString("\\t")
        default:
          let digits: StaticString = "0123456789abcdef"
          buffer.writeStaticString("\\u00")
          buffer.writeInteger(digits.utf8Start[Int(byte >> 4)])
          buffer.writeInteger(digits.utf8Start[Int(byte & 0x0F)])
        }
      }
      buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start...]))
    }
    buffer.writeInteger(ASCII.quote)
  }
}
