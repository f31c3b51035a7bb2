internal import BulkCore
internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("Taking a stream up at a checkpoint")
struct StreamCheckpointTests {
  /// Text that compresses like real records.
  private static func text(lines: Int, from first: Int = 0) -> [UInt8] {
    Array(
      (first ..< first + lines).map { "\($0),name \($0 % 97),user\($0)@example.com,\($0 * 37 % 10_007).25\n" }.joined()
        .utf8
    )
  }

  /// Inflates `compressed` whole, collecting the resume points offered every `span` bytes.
  private static func resumePoints(
    _ compressed: [UInt8],
    span: Int64
  ) throws -> (output: [UInt8], points: [GzipResumePoint]) {
    let inflater = try GzipInflater(resumeSpan: span)
    var output: [UInt8] = []
    var points: [GzipResumePoint] = []
    for piece in Feeding.pieces(of: compressed, size: 5000) {
      try inflater.inflate(piece) {
        output.append(contentsOf: $0.readableBytesView)
      } onResumePoint: { point in
        #expect(point.inflatedOffset == Int64(output.count))
        points.append(point)
      }
    }
    try inflater.finish()
    return (output, points)
  }

  /// Inflates `compressed` from `point` on, in random pieces.
  private static func resume(
    _ compressed: [UInt8],
    at point: GzipResumePoint,
    limits: InflateLimits = InflateLimits(),
    using random: inout SplitMix64
  ) throws -> (output: [UInt8], inflater: GzipInflater) {
    let inflater = try GzipInflater(limits: limits, resumingAt: point)
    var output: [UInt8] = []
    let rest = Array(compressed[Int(point.compressedOffset)...])
    for piece in Feeding.pieces(of: rest, maxPiece: 9000, using: &random) {
      try inflater.inflate(piece) { output.append(contentsOf: $0.readableBytesView) }
    }
    try inflater.finish()
    return (output, inflater)
  }

  @Test("gzip taken up at any resume point inflates the rest exactly, one member or many", arguments: [1, 3])
  func gzipResume(members: Int) throws {
    var compressed: [UInt8] = []
    var text: [UInt8] = []
    for member in 0 ..< members {
      let part = Self.text(lines: 30_000 + member * 3_001, from: text.count)
      text += part
      compressed += try Gzip.compress(part)
    }
    let (output, points) = try Self.resumePoints(compressed, span: 16 << 10)
    #expect(output == text)
    #expect(points.count > 5)
    #expect(points.contains { $0.bits != 0 })
    #expect(points.contains { $0.memberBytes < $0.inflatedOffset } == (members > 1))
    var random = SplitMix64(seed: UInt64(members))
    for point in points {
      let (rest, inflater) = try Self.resume(compressed, at: point, using: &random)
      #expect(rest == Array(text[Int(point.inflatedOffset)...]))
      #expect(inflater.consumedBytes == Int64(compressed.count))
      #expect(inflater.producedBytes == Int64(text.count))
    }
  }

  @Test(
    "after a resume the member's trailer is still checked: a wrong CRC-32 or size is corrupt",
    arguments: [-8, -5, -3]
  )
  func gzipTrailerChecked(fromEnd: Int) throws {
    let text = Self.text(lines: 8_000)
    let clean = try Gzip.compress(text)
    let point = try #require(try Self.resumePoints(clean, span: 64 << 10).points.last)
    var compressed = clean
    compressed[compressed.count + fromEnd] ^= 0x01
    var random = SplitMix64(seed: 7)
    let error = try #require(throws: FormatError.self) { try Self.resume(compressed, at: point, using: &random) }
    #expect(error.kind == .malformed)
    // Where zlib reports them on a stream read whole: after the CRC-32, after the size.
    let (offset, reason) =
      fromEnd < -4 ? (compressed.count - 4, "incorrect data check") : (compressed.count, "incorrect length check")
    #expect(error.message == "the gzip stream is corrupt at byte \(offset) (\(reason))")
  }

  @Test("after a resume a corrupt block or a cut stream is still refused")
  func gzipCorruptAfterResume() throws {
    let text = Self.text(lines: 8_000)
    var compressed = try Gzip.compress(text)
    let point = try #require(try Self.resumePoints(compressed, span: 64 << 10).points.first)
    var random = SplitMix64(seed: 3)
    let cut = Array(compressed[..<(compressed.count - 3)])
    let truncated = try #require(throws: FormatError.self) { try Self.resume(cut, at: point, using: &random) }
    #expect(truncated.message == "the gzip stream is truncated at byte \(cut.count)")
    let start = Int(point.compressedOffset) + 100
    for index in start ..< start + 16 {
      compressed[index] ^= 0x5A
    }
    let corrupt = try #require(throws: FormatError.self) { try Self.resume(compressed, at: point, using: &random) }
    #expect(corrupt.kind == .malformed)
    #expect(corrupt.offset >= Int64(start))
  }

  @Test("the inflate limits count from the stream's first byte across a resume")
  func gzipLimitsAcrossResume() throws {
    let text = Self.text(lines: 40_000)
    let compressed = try Gzip.compress(text)
    let point = try #require(try Self.resumePoints(compressed, span: 256 << 10).points.first)
    let limit = point.inflatedOffset + (200 << 10)
    let limits = InflateLimits(maxInflatedBytes: limit, maxRatio: 1_000)
    var random = SplitMix64(seed: 11)
    let error = try #require(throws: FormatError.self) {
      try Self.resume(compressed, at: point, limits: limits, using: &random)
    }
    #expect(error.kind == .limitExceeded)
    #expect(error.message.hasPrefix("the gzip stream inflates to more than \(limit) bytes"))

    // The ratio cap counts the bytes consumed before the point too: a resumed stream fails where
    // a whole one does.
    let long = try Gzip.compress(Self.text(lines: 100_000))
    let early = try #require(try Self.resumePoints(long, span: 256 << 10).points.first)
    let ratio = InflateLimits(maxInflatedBytes: 1 << 40, maxRatio: 2)
    let whole = try #require(throws: FormatError.self) {
      try GzipInflater(limits: ratio).inflate(ByteBuffer(bytes: long)) { _ in }
    }
    let resumed = try #require(throws: FormatError.self) {
      try Self.resume(long, at: early, limits: ratio, using: &random)
    }
    #expect(whole.message.contains("inflates more than 2 times"))
    #expect(resumed.message.contains("inflates more than 2 times"))
    #expect(whole.offset > early.compressedOffset)
    #expect(abs(resumed.offset - whole.offset) < 16 << 10)
  }

  /// Splits `pieces` with a splitter built by `make`, returning the chunks and the error, if any.
  private static func split(
    _ pieces: [ByteBuffer],
    _ splitter: RecordSplitter
  ) -> (chunks: [RecordChunk], records: Int64, error: FormatError?) {
    var splitter = splitter
    var chunks: [RecordChunk] = []
    do {
      for piece in pieces {
        try splitter.feed(piece) { chunks.append($0) }
      }
      try splitter.finish { chunks.append($0) }
    } catch {
      return (chunks, splitter.completedRecords, error as? FormatError)
    }
    return (chunks, splitter.completedRecords, nil)
  }

  private static func splitter(_ format: ContentType) -> RecordSplitter {
    RecordSplitter(format: format, delimiter: UInt8(ascii: ","), maxRecords: 7, maxBytes: 600)
  }

  @Test(
    "random JSON cut at a random record end goes on with the same records, numbers and offsets",
    arguments: 0 ..< 40
  )
  func jsonResume(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    let document = RandomJSON(using: &random, isArray: seed % 2 == 0, maxRecords: 40)
    let pieces = Feeding.pieces(of: document.bytes, maxPiece: 300, using: &random)
    let whole = Self.split(pieces, Self.splitter(.json))
    try #require(whole.error == nil)
    // The resume points after each piece of the uninterrupted stream.
    var splitter = Self.splitter(.json)
    var points: [ResumePoint] = []
    for piece in pieces {
      try splitter.feed(piece) { _ in }
      if let point = splitter.resumePoint {
        points.append(point)
      }
    }
    guard let point = points.randomElement(using: &random) else { return }
    #expect(point.layout == (document.isArray ? .jsonArray : .jsonLines))
    var resumed = Self.splitter(.json)
    resumed.resume(at: point)
    let rest = Feeding.pieces(of: Array(document.bytes[Int(point.offset)...]), maxPiece: 300, using: &random)
    let after = Self.split(rest, resumed)
    try #require(after.error == nil)
    #expect(after.records == whole.records)
    let records = whole.chunks.flatMap { chunk in (0 ..< chunk.recordCount).map { chunk.firstRecord + Int64($0) } }
    let resumedRecords = after.chunks.flatMap { chunk in (0 ..< chunk.recordCount).map { chunk.firstRecord + Int64($0) }
    }
    #expect(resumedRecords == Array(records.dropFirst(Int(point.records))))
    if let first = after.chunks.first {
      let index = Int(point.records)
      #expect(first.offset == (document.isArray ? document.offsets[index] : point.offset))
    }
    // The bytes handed on after the point are the uninterrupted stream's from that record on.
    let wholeBytes = whole.chunks.flatMap { Array($0.bytes.readableBytesView) }
    let resumedBytes = after.chunks.flatMap { Array($0.bytes.readableBytesView) }
    #expect(Array(wholeBytes.suffix(resumedBytes.count)) == resumedBytes)
  }

  @Test(
    "an error after a JSON resume names the same record and byte as without it",
    arguments: [
      "[{\"a\":1},\n {\"b\":2}, {\"c\":[1}]",
      "[{\"a\":1},\n {\"b\":2} {\"c\":3}]",
      "[{\"a\":1},\n {\"b\":2}, 7]",
      "[{\"a\":1},\n {\"b\":2},]",
      "{\"a\":1}\n{\"b\":2}\n\n{\"c\":3} {\"d\":4}\n",
      "{\"a\":1}\n{\"b\":2}\n{\"c\":3",
      "{\"a\":1}\n{\"b\":2}\n[]\n",
    ]
  )
  func jsonErrorAfterResume(text: String) throws {
    let bytes = Array(text.utf8)
    let whole = Self.split([ByteBuffer(bytes: bytes)], Self.splitter(.json))
    let wholeError = try #require(whole.error)
    var splitter = Self.splitter(.json)
    // Up to the end of the first record: a point after record 1.
    try splitter.feed(ByteBuffer(bytes: bytes[..<9])) { _ in }
    let point = try #require(splitter.resumePoint)
    #expect(point.records == 1)
    var resumed = Self.splitter(.json)
    resumed.resume(at: point)
    let after = Self.split([ByteBuffer(bytes: bytes[Int(point.offset)...])], resumed)
    #expect(after.error == wholeError)
  }

  @Test("a checkpoint encodes and decodes; another version or a damaged byte decodes to nil")
  func encoding() throws {
    let gzip = GzipResumePoint(
      compressedOffset: 81_234,
      inflatedOffset: 1_048_700,
      bits: 5,
      bitByte: 0xA7,
      window: (0 ..< 32_768).map { UInt8(truncatingIfNeeded: $0 * 31) },
      memberCRC: 0xDEAD_BEEF,
      memberBytes: 1_000_000
    )
    let records = ResumePoint(headerEnd: 17, offset: 1_048_600, records: 9_999)
    let checkpoints = [
      StreamCheckpoint(records: ResumePoint(headerEnd: 0, offset: 812, records: 40, layout: .jsonArray)),
      StreamCheckpoint(records: records),
      StreamCheckpoint(
        records: records,
        gzip: gzip,
        header: ByteBuffer(string: "id,name,email,age"),
        tail: ByteBuffer(repeating: 0x41, count: 100)
      ),
      StreamCheckpoint(
        records: nil,
        gzip: gzip,
        header: ByteBuffer(),
        tail: ByteBuffer(repeating: 0x41, count: 1_048_700)
      ),
    ]
    for checkpoint in checkpoints {
      let encoded = checkpoint.encoded()
      #expect(StreamCheckpoint(decoding: encoded) == checkpoint)
      var random = SplitMix64(seed: UInt64(encoded.readableBytes))
      for _ in 0 ..< 20 {
        var damaged = Array(encoded.readableBytesView)
        damaged[Int.random(in: 0 ..< damaged.count, using: &random)] ^= UInt8.random(in: 1 ... 255, using: &random)
        #expect(StreamCheckpoint(decoding: ByteBuffer(bytes: damaged)) == nil)
      }
      #expect(StreamCheckpoint(decoding: encoded.getSlice(at: 0, length: encoded.readableBytes - 1)!) == nil)
    }
    var otherVersion = Array(checkpoints[1].encoded().readableBytesView)
    otherVersion[4] = 2
    #expect(StreamCheckpoint(decoding: ByteBuffer(bytes: otherVersion)) == nil)
    #expect(StreamCheckpoint(decoding: ByteBuffer(string: "{\"headerEnd\":8,\"offset\":100,\"records\":3}")) == nil)
  }
}
