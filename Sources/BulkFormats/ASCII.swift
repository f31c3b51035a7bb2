/// The bytes the readers and writers look for, by name.
enum ASCII {
  /// Line feed, `\n`.
  static let lineFeed: UInt8 = 0x0A
  /// Carriage return, `\r`.
  static let carriageReturn: UInt8 = 0x0D
  /// Horizontal tab, `\t`.
  static let tab: UInt8 = 0x09
  /// Space.
  static let space: UInt8 = 0x20
  /// Double quote, `"`.
  static let quote: UInt8 = 0x22
  /// Comma, `,`.
  static let comma: UInt8 = 0x2C
  /// Colon, `:`.
  static let colon: UInt8 = 0x3A
  /// Backslash, `\`.
  static let backslash: UInt8 = 0x5C
  /// `[`.
  static let openBracket: UInt8 = 0x5B
  /// `]`.
  static let closeBracket: UInt8 = 0x5D
  /// `{`.
  static let openBrace: UInt8 = 0x7B
  /// `}`.
  static let closeBrace: UInt8 = 0x7D
  /// `-`.
  static let minus: UInt8 = 0x2D
  /// `+`.
  static let plus: UInt8 = 0x2B
  /// `.`.
  static let period: UInt8 = 0x2E
  /// `0`.
  static let zero: UInt8 = 0x30
  /// `9`.
  static let nine: UInt8 = 0x39

  /// Whether `byte` is JSON whitespace: space, tab, line feed or carriage return.
  @inline(__always)
  static func isJSONWhitespace(_ byte: UInt8) -> Bool {
    byte == Self.space || byte == Self.lineFeed || byte == Self.carriageReturn || byte == Self.tab
  }

  /// Whether `byte` is a decimal digit.
  @inline(__always)
  static func isDigit(_ byte: UInt8) -> Bool {
    byte >= Self.zero && byte <= Self.nine
  }
}
