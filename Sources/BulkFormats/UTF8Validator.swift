/// Checks that a stream is well-formed UTF-8, piece by piece: a sequence may be split between
/// pieces.
///
/// It follows the Unicode table of well-formed byte sequences, so it refuses overlong forms,
/// surrogates and code points past U+10FFFF. ASCII runs are checked eight bytes at a time.
struct UTF8Validator {
  /// Continuation bytes the current sequence still needs.
  private var needed = 0
  /// The range the next continuation byte must fall in.
  private var lower: UInt8 = 0x80
  private var upper: UInt8 = 0xBF
  /// The stream offset of the current sequence's first byte.
  private var sequenceStart: Int64 = 0

  /// Checks the next piece of the stream, whose first byte is at stream offset `base`.
  ///
  /// - Returns: the stream offset of the first byte of the first ill-formed sequence (possibly in
  ///   an earlier piece), or `nil` when the piece is fine so far.
  mutating func validate(_ bytes: UnsafeRawBufferPointer, at base: Int64) -> Int64? {
    let count = bytes.count
    var index = 0
    while index < count {
      if self.needed == 0 {
        while index + 8 <= count,
          bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
        {
          index += 8
        }
        guard index < count else { break }
        let byte = bytes[index]
        if byte < 0x80 {
          index += 1
          continue
        }
        self.sequenceStart = base + Int64(index)
        switch byte {
        case 0xC2 ... 0xDF:
          self.expect(1, 0x80, 0xBF)
        case 0xE0:
          self.expect(2, 0xA0, 0xBF)
        case 0xE1 ... 0xEC, 0xEE ... 0xEF:
          self.expect(2, 0x80, 0xBF)
        case 0xED:
          self.expect(2, 0x80, 0x9F)
        case 0xF0:
          self.expect(3, 0x90, 0xBF)
        case 0xF1 ... 0xF3:
          self.expect(3, 0x80, 0xBF)
        case 0xF4:
          self.expect(3, 0x80, 0x8F)
        default:
          return self.sequenceStart
        }
      } else {
        let byte = bytes[index]
        guard byte >= self.lower && byte <= self.upper else { return self.sequenceStart }
        self.expect(self.needed - 1, 0x80, 0xBF)
      }
      index += 1
    }
    return nil
  }

  /// The stream has ended: the offset of a sequence it cut short, or `nil`.
  func finish() -> Int64? {
    self.needed == 0 ? nil : self.sequenceStart
  }

  private mutating func expect(_ needed: Int, _ lower: UInt8, _ upper: UInt8) {
    self.needed = needed
    self.lower = lower
    self.upper = upper
  }
}
