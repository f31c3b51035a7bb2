internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("GzipInflater")
struct GzipInflaterTests {
  /// Text that compresses like real records.
  private static func text(lines: Int) -> [UInt8] {
    Array((0 ..< lines).map { "\($0),name \($0 % 97),user\($0)@example.com,\($0 * 37 % 10_007).25\n" }.joined().utf8)
  }

  /// Inflates `pieces`, checking every piece handed to the sink.
  private static func inflate(
    _ pieces: [ByteBuffer],
    limits: InflateLimits = InflateLimits()
  ) throws -> (output: [UInt8], inflater: GzipInflater) {
    let inflater = try GzipInflater(limits: limits)
    var output: [UInt8] = []
    for piece in pieces {
      try inflater.inflate(piece) { inflated in
        #expect(inflated.readableBytes > 0 && inflated.readableBytes <= GzipInflater.pieceSize)
        output.append(contentsOf: inflated.readableBytesView)
      }
    }
    try inflater.finish()
    return (output, inflater)
  }

  @Test("a member inflates whole, in one piece or many", arguments: [1, 7, 1000, 1 << 30])
  func roundTrip(pieceSize: Int) throws {
    let text = Self.text(lines: pieceSize == 1 ? 300 : 40_000)
    let compressed = try Gzip.compress(text)
    let (output, inflater) = try Self.inflate(Feeding.pieces(of: compressed, size: pieceSize))
    #expect(output == text)
    #expect(inflater.consumedBytes == Int64(compressed.count))
    #expect(inflater.producedBytes == Int64(text.count))
  }

  @Test("concatenated members inflate as one stream", arguments: [1, 5, 1 << 30])
  func members(pieceSize: Int) throws {
    let first = Self.text(lines: 100)
    let second = Array("second member\n".utf8)
    let third = Self.text(lines: 3)
    let compressed = try Gzip.compress(first) + Gzip.compress(second) + Gzip.compress(third)
    let (output, _) = try Self.inflate(Feeding.pieces(of: compressed, size: pieceSize))
    #expect(output == first + second + third)
  }

  @Test("a stream cut short is refused by finish", arguments: [0, 5, 30, -4, -1])
  func truncated(cut: Int) throws {
    let compressed = try Gzip.compress(Self.text(lines: 50))
    let length = cut >= 0 ? cut : compressed.count + cut
    let inflater = try GzipInflater(limits: InflateLimits())
    if length > 0 {
      try inflater.inflate(ByteBuffer(bytes: compressed[..<length])) { _ in }
    }
    let error = try #require(throws: FormatError.self) { try inflater.finish() }
    #expect(error.kind == .malformed)
    #expect(error.offset == Int64(length))
    #expect(error.message == "the gzip stream is truncated at byte \(length)")
  }

  @Test("a stream cut between two members is refused too")
  func truncatedSecondMember() throws {
    let member = try Gzip.compress(Self.text(lines: 10))
    let compressed = member + member.prefix(12)
    let error = try #require(throws: FormatError.self) { try Self.inflate([ByteBuffer(bytes: compressed)]) }
    #expect(error.message == "the gzip stream is truncated at byte \(compressed.count)")
  }

  @Test("corrupt data is refused with its compressed offset")
  func corrupt() throws {
    var compressed = try Gzip.compress(Self.text(lines: 2_000))
    let trailer = compressed.count - 8
    compressed[trailer] ^= 0xFF
    let error = try #require(throws: FormatError.self) { try Self.inflate(Feeding.pieces(of: compressed, size: 4096)) }
    #expect(error.kind == .malformed)
    #expect(error.message.hasPrefix("the gzip stream is corrupt at byte"))
    #expect(error.offset > Int64(trailer - 8) && error.offset <= Int64(compressed.count))
  }

  @Test("flipped bytes in the deflate body are refused", arguments: 0 ..< 8)
  func flippedBody(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    var compressed = try Gzip.compress(Self.text(lines: 2_000))
    let start = Int.random(in: 20 ..< compressed.count / 2, using: &random)
    for index in start ..< start + 16 {
      compressed[index] ^= UInt8.random(in: 1 ... 255, using: &random)
    }
    let error = try #require(throws: FormatError.self) { try Self.inflate([ByteBuffer(bytes: compressed)]) }
    #expect(error.kind == .malformed)
    #expect(error.offset >= Int64(start))
  }

  @Test("bytes after a member that are not gzip are refused")
  func trailingGarbage() throws {
    let compressed = try Gzip.compress(Self.text(lines: 5)) + Array("not gzip".utf8)
    let error = try #require(throws: FormatError.self) { try Self.inflate([ByteBuffer(bytes: compressed)]) }
    #expect(error.kind == .malformed)
    #expect(error.message.contains("corrupt"))
  }

  @Test("a gzip bomb (1 GB of zeros in about 1 MB) stops at the ratio cap after a small prefix")
  func bomb() throws {
    let bomb = try Gzip.zeros(count: 1 << 30)
    #expect(bomb.readableBytes < 2 << 20)
    let inflater = try GzipInflater(limits: InflateLimits())
    var delivered: Int64 = 0
    let error = try #require(throws: FormatError.self) {
      try inflater.inflate(bomb) { piece in
        #expect(piece.readableBytes <= GzipInflater.pieceSize)
        delivered += Int64(piece.readableBytes)
      }
    }
    #expect(error.kind == .limitExceeded)
    #expect(error.message.contains("inflates more than 100 times"))
    #expect(inflater.consumedBytes < 16 << 10)
    #expect(inflater.producedBytes <= 100 * inflater.consumedBytes + (1 << 20) + Int64(GzipInflater.pieceSize))
    #expect(delivered <= 100 * inflater.consumedBytes + (1 << 20))
  }

  @Test("the total inflated size is capped")
  func maxInflatedBytes() throws {
    let compressed = try Gzip.compress(Self.text(lines: 100_000))
    let limits = InflateLimits(maxInflatedBytes: 1 << 20, maxRatio: 1_000)
    let inflater = try GzipInflater(limits: limits)
    var delivered: Int64 = 0
    let error = try #require(throws: FormatError.self) {
      for piece in Feeding.pieces(of: compressed, size: 64 << 10) {
        try inflater.inflate(piece) { delivered += Int64($0.readableBytes) }
      }
    }
    #expect(error.kind == .limitExceeded)
    #expect(error.message.hasPrefix("the gzip stream inflates to more than 1048576 bytes"))
    #expect(delivered <= 1 << 20)
    #expect(inflater.producedBytes > 1 << 20)
  }

  @Test("an error thrown by the sink propagates unchanged")
  func sinkError() throws {
    struct Full: Error, Equatable {}
    let inflater = try GzipInflater(limits: InflateLimits())
    #expect(throws: Full()) {
      try inflater.inflate(ByteBuffer(bytes: try Gzip.compress(Self.text(lines: 10)))) { _ in throw Full() }
    }
  }
}
