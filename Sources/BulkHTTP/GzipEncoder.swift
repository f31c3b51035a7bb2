internal import Foundation

/// A streaming gzip (RFC 1952) encoder: DEFLATE (RFC 1951) with LZ77 matching over a 32 KiB
/// window (hash chains, greedy) and the fixed Huffman codes.
///
/// It is written here because this module links no zlib: results compress well enough with
/// fixed codes (CSV is mostly repeats), and memory stays bounded at the window and the hash
/// tables (about 600 KiB) whatever the size of the stream. Output is one long non-final block,
/// then an empty final block and the gzip trailer.
struct GzipEncoder {
  private static let windowSize = 1 << 15
  private static let windowMask = windowSize - 1
  private static let hashSize = 1 << 15
  private static let minMatch = 3
  private static let maxMatch = 258
  /// Candidates tried per position: more finds longer matches, slower.
  private static let maxChain = 48

  /// The last `windowSize` bytes of input (and the newest call's), from absolute `historyStart`.
  private var history: [UInt8] = []
  private var historyStart = 0
  /// The newest absolute position + 1 with each hash of three bytes (0: none).
  private var head = [Int](repeating: 0, count: hashSize)
  /// For a position's slot, the previous absolute position + 1 with the same hash.
  private var previous = [Int](repeating: 0, count: windowSize)
  private var bits = BitWriter()
  private var checksum = CRC32()
  private var inputSize: UInt32 = 0
  private var started = false

  init() {}

  /// Compresses the next part of the stream and returns the bytes that are complete; a few
  /// bits may wait for the next call.
  mutating func compress(_ input: Data) -> [UInt8] {
    self.start()
    self.checksum.update(input)
    self.inputSize &+= UInt32(truncatingIfNeeded: input.count)
    if self.history.count > Self.windowSize {
      let drop = self.history.count - Self.windowSize
      self.history.removeFirst(drop)
      self.historyStart += drop
    }
    let begin = self.historyStart + self.history.count
    self.history.append(contentsOf: input)
    let window = self.history
    window.withUnsafeBufferPointer { window in
      self.encode(window, from: begin)
    }
    return self.bits.take()
  }

  /// Ends the stream: the end of the block, an empty final block and the gzip trailer
  /// (CRC-32 and size, little-endian).
  mutating func finish() -> [UInt8] {
    self.start()
    self.bits.write(Self.literalCodes[256])
    // BFINAL = 1, BTYPE = 01 (fixed codes), then at once the end of block.
    self.bits.write(0b011, count: 3)
    self.bits.write(Self.literalCodes[256])
    self.bits.alignToByte()
    for value in [self.checksum.value, self.inputSize] {
      for shift in stride(from: 0, to: 32, by: 8) {
        self.bits.write(UInt32(truncatingIfNeeded: value >> UInt32(shift)) & 0xFF, count: 8)
      }
    }
    return self.bits.take()
  }

  /// Writes the gzip header and opens the non-final block, once.
  private mutating func start() {
    guard !self.started else { return }
    self.started = true
    // ID1 ID2, CM = deflate, no flags, no mtime, no extra flags, OS unknown.
    for byte: UInt8 in [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255] {
      self.bits.write(UInt32(byte), count: 8)
    }
    // BFINAL = 0, BTYPE = 01.
    self.bits.write(0b010, count: 3)
  }

  /// Encodes the window from absolute position `begin` to its end as literals and matches.
  private mutating func encode(_ window: UnsafeBufferPointer<UInt8>, from begin: Int) {
    let end = self.historyStart + window.count
    var position = begin
    while position < end {
      let index = position - self.historyStart
      var bestLength = 0
      var bestDistance = 0
      if end - position >= Self.minMatch {
        var candidate = self.insert(position, window: window)
        let limit = min(Self.maxMatch, end - position)
        var chain = Self.maxChain
        while candidate > 0 && chain > 0 {
          let earlier = candidate - 1
          guard earlier >= self.historyStart, position - earlier < Self.windowSize else { break }
          let earlierIndex = earlier - self.historyStart
          if window[earlierIndex + bestLength] == window[index + bestLength] {
            var length = 0
            while length < limit && window[earlierIndex + length] == window[index + length] {
              length += 1
            }
            if length > bestLength {
              bestLength = length
              bestDistance = position - earlier
              if length == limit { break }
            }
          }
          let next = self.previous[earlier & Self.windowMask]
          // A slot reused by a newer position would lead forward: the chain ends there.
          guard next < candidate else { break }
          candidate = next
          chain -= 1
        }
      }
      if bestLength >= Self.minMatch {
        self.writeMatch(length: bestLength, distance: bestDistance)
        for skipped in position + 1 ..< position + bestLength where end - skipped >= Self.minMatch {
          _ = self.insert(skipped, window: window)
        }
        position += bestLength
      } else {
        self.bits.write(Self.literalCodes[Int(window[index])])
        position += 1
      }
    }
  }

  /// Records `position` under the hash of its three bytes and returns the previous position
  /// + 1 with that hash (0: none).
  private mutating func insert(_ position: Int, window: UnsafeBufferPointer<UInt8>) -> Int {
    let index = position - self.historyStart
    let hash =
      (Int(window[index]) << 10 ^ Int(window[index + 1]) << 5 ^ Int(window[index + 2])) & (Self.hashSize - 1)
    let candidate = self.head[hash]
    self.previous[position & Self.windowMask] = candidate
    self.head[hash] = position + 1
    return candidate
  }

  private mutating func writeMatch(length: Int, distance: Int) {
    let lengthCode = Int(Self.lengthCodeIndex[length - Self.minMatch])
    self.bits.write(Self.literalCodes[257 + lengthCode])
    self.bits.write(
      UInt32(length - Self.lengthBase[lengthCode]),
      count: Self.lengthExtraBits[lengthCode]
    )
    let distanceCode = Int(Self.distanceCodeIndex[distance - 1])
    self.bits.write(Self.reversed(UInt32(distanceCode), count: 5), count: 5)
    self.bits.write(
      UInt32(distance - Self.distanceBase[distanceCode]),
      count: Self.distanceExtraBits[distanceCode]
    )
  }

  // MARK: Fixed tables of RFC 1951 §3.2.5 and §3.2.6

  private static let lengthBase = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
  ]
  private static let lengthExtraBits = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
  ]
  private static let distanceBase = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
  ]
  private static let distanceExtraBits = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
  ]

  /// The length code (0 = symbol 257) of each match length - 3.
  private static let lengthCodeIndex: [UInt8] = {
    var table = [UInt8](repeating: 0, count: maxMatch - minMatch + 1)
    for code in lengthBase.indices {
      let upper = code + 1 < lengthBase.count ? lengthBase[code + 1] : maxMatch + 1
      for length in lengthBase[code] ..< upper {
        table[length - minMatch] = UInt8(code)
      }
    }
    return table
  }()

  /// The distance code of each distance - 1.
  private static let distanceCodeIndex: [UInt8] = {
    var table = [UInt8](repeating: 0, count: windowSize)
    for code in distanceBase.indices {
      let upper = code + 1 < distanceBase.count ? distanceBase[code + 1] : windowSize + 1
      for distance in distanceBase[code] ..< upper {
        table[distance - 1] = UInt8(code)
      }
    }
    return table
  }()

  /// The fixed Huffman code of each literal/length symbol, bit-reversed for the LSB-first
  /// stream, with its length.
  private static let literalCodes: [(code: UInt32, count: Int)] = (0 ..< 288).map { symbol in
    switch symbol {
    case 0 ..< 144: (reversed(UInt32(0x30 + symbol), count: 8), 8)
    case 144 ..< 256: (reversed(UInt32(0x190 + symbol - 144), count: 9), 9)
    case 256 ..< 280: (reversed(UInt32(symbol - 256), count: 7), 7)
    default: (reversed(UInt32(0xC0 + symbol - 280), count: 8), 8)
    }
  }

  private static func reversed(_ code: UInt32, count: Int) -> UInt32 {
    var result: UInt32 = 0
    for bit in 0 ..< count where code & (1 << UInt32(bit)) != 0 {
      result |= 1 << UInt32(count - 1 - bit)
    }
    return result
  }
}

/// Packs bit fields least-significant bit first, as DEFLATE wants, into whole bytes.
private struct BitWriter {
  private var output: [UInt8] = []
  private var buffer: UInt64 = 0
  private var count = 0

  mutating func write(_ value: UInt32, count: Int) {
    self.buffer |= UInt64(value) << UInt64(self.count)
    self.count += count
    while self.count >= 8 {
      self.output.append(UInt8(truncatingIfNeeded: self.buffer))
      self.buffer >>= 8
      self.count -= 8
    }
  }

  mutating func write(_ code: (code: UInt32, count: Int)) {
    self.write(code.code, count: code.count)
  }

  /// Pads the last byte with zero bits.
  mutating func alignToByte() {
    if self.count > 0 {
      self.write(0, count: 8 - self.count)
    }
  }

  /// The complete bytes written since the last call.
  mutating func take() -> [UInt8] {
    defer { self.output.removeAll(keepingCapacity: true) }
    return self.output
  }
}
