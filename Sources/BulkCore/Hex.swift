/// Hexadecimal text of bytes and bytes of hexadecimal text: token digests, ledger rows, `bytea`
/// values and byte fields in results all go through here.
package enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  /// Appends two lower-case hex digits per byte to `text`.
  package static func append(_ bytes: some Collection<UInt8>, to text: inout [UInt8]) {
    text.reserveCapacity(text.count + bytes.count * 2)
    for byte in bytes {
      text.append(Self.digits[Int(byte >> 4)])
      text.append(Self.digits[Int(byte & 0x0f)])
    }
  }

  /// The bytes as lower-case hex digits.
  package static func string(_ bytes: some Collection<UInt8>) -> String {
    var text: [UInt8] = []
    Self.append(bytes, to: &text)
    return String(decoding: text, as: UTF8.self)
  }

  /// The bytes that hex digits (either case) spell; `nil` for an odd count or another character.
  package static func bytes(_ text: some StringProtocol) -> [UInt8]? {
    let characters = Array(text.utf8)
    guard characters.count.isMultiple(of: 2) else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(characters.count / 2)
    var index = 0
    while index < characters.count {
      guard let high = Self.nibble(characters[index]), let low = Self.nibble(characters[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
      index += 2
    }
    return bytes
  }

  private static func nibble(_ character: UInt8) -> UInt8? {
    switch character {
    case UInt8(ascii: "0") ... UInt8(ascii: "9"): character - UInt8(ascii: "0")
    case UInt8(ascii: "a") ... UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A") ... UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
