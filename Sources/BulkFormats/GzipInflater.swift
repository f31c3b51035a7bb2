internal import CBulkZlib
package import NIOCore

/// Inflates a gzip stream fed in pieces, under `InflateLimits`, handing the inflated bytes on in
/// pieces of at most `pieceSize` so that memory stays flat for any input.
///
/// Concatenated gzip members (as `cat a.gz b.gz` makes) inflate as one stream. Corrupt data, a
/// stream cut short (`finish()`), too many inflated bytes and a ratio past the cap are
/// `FormatError`s naming the compressed byte offset.
///
/// zlib cannot save an inflate stream, but it can take one up at the end of a deflate block, as
/// zlib's `examples/zran.c` does: the inflater offers a `GzipResumePoint` at block ends (at most one
/// every `resumeSpan` inflated bytes), and `init(limits:resumingAt:)` goes on from one with a raw
/// inflater, the pending bits and the last 32 KiB of output; the member's CRC-32 and size, carried
/// in the point, are then checked here against its trailer.
///
/// The inflater owns a zlib stream: it is not `Sendable`, and one task or thread at a time uses it.
package final class GzipInflater {
  /// The most bytes handed to the sink at once.
  package static let pieceSize = 128 << 10
  /// The inflated bytes between two resume points, at least, unless told otherwise.
  package static let defaultResumeSpan: Int64 = 1 << 20
  /// The largest deflate window: what a resume point carries at most.
  package static let windowSize = 1 << 15

  private enum Phase: Equatable {
    /// Inside a member that zlib reads whole: header, deflate data and trailer.
    case member
    /// Inside a member's deflate data taken up at a resume point: zlib reads raw deflate data and
    /// the trailer is checked here.
    case rawMember
    /// After a taken-up member's deflate data: the trailer's bytes read so far.
    case trailer([UInt8])
    /// A member ended; the next byte starts another.
    case betweenMembers
  }

  /// The zlib stream, allocated once so that its address stays fixed (zlib keeps pointers to it).
  private let stream: UnsafeMutablePointer<z_stream>
  private let limits: InflateLimits
  private let resumeSpan: Int64
  /// The reused buffer zlib writes into.
  private var output: ByteBuffer
  private var phase = Phase.member
  /// Compressed bytes consumed so far.
  package private(set) var consumedBytes: Int64 = 0
  /// Inflated bytes produced so far.
  package private(set) var producedBytes: Int64 = 0
  /// The CRC-32 of the current member's output, kept here only in `rawMember` (zlib keeps it in
  /// `member`).
  private var memberCRC: UInt32 = 0
  /// The current member's inflated bytes so far.
  private var memberBytes: Int64 = 0
  /// The last compressed byte consumed: the one holding the pending bits at a block end.
  private var lastInputByte: UInt8 = 0
  /// `producedBytes` at the last resume point offered.
  private var lastResumePoint: Int64 = 0

  /// An inflater under `limits` for a stream from its first byte.
  ///
  /// - Parameter resumeSpan: the fewest inflated bytes between two resume points.
  /// - Throws: `FormatError` (`limitExceeded`) when zlib cannot allocate its stream.
  package convenience init(
    limits: InflateLimits = InflateLimits(),
    resumeSpan: Int64 = GzipInflater.defaultResumeSpan
  ) throws(FormatError) {
    try self.init(limits: limits, resumeSpan: resumeSpan, windowBits: 15 + 16)
  }

  /// An inflater under `limits` that goes on from `point`: feed it the stream's bytes from
  /// `point.compressedOffset` on. Offsets, the limits and the member's trailer check continue as
  /// if every byte had been read.
  ///
  /// - Throws: `FormatError` (`limitExceeded`) when zlib cannot allocate its stream, (`malformed`)
  ///   when zlib refuses the point.
  package convenience init(
    limits: InflateLimits = InflateLimits(),
    resumingAt point: GzipResumePoint,
    resumeSpan: Int64 = GzipInflater.defaultResumeSpan
  ) throws(FormatError) {
    try self.init(limits: limits, resumeSpan: resumeSpan, windowBits: -15)
    self.phase = .rawMember
    self.consumedBytes = point.compressedOffset
    self.producedBytes = point.inflatedOffset
    self.lastResumePoint = point.inflatedOffset
    self.memberCRC = point.memberCRC
    self.memberBytes = point.memberBytes
    self.lastInputByte = point.bitByte
    var status = Z_OK
    if point.bits > 0 {
      status = inflatePrime(self.stream, Int32(point.bits), Int32(point.bitByte >> (8 - point.bits)))
    }
    if status == Z_OK, !point.window.isEmpty {
      status = point.window.withUnsafeBufferPointer {
        inflateSetDictionary(self.stream, $0.baseAddress, uInt($0.count))
      }
    }
    guard status == Z_OK else {
      throw .malformed(
        "the gzip stream cannot be taken up at byte \(point.compressedOffset) (zlib status \(status))",
        offset: point.compressedOffset
      )
    }
  }

  private init(limits: InflateLimits, resumeSpan: Int64, windowBits: Int32) throws(FormatError) {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    let status = CBulkZlib_inflateInit2(stream, windowBits)
    guard status == Z_OK else {
      stream.deallocate()
      throw .limitExceeded("cannot start a gzip stream: zlib status \(status)", offset: 0)
    }
    self.stream = stream
    self.limits = limits
    self.resumeSpan = max(resumeSpan, 1)
    self.output = ByteBufferAllocator().buffer(capacity: Self.pieceSize)
  }

  deinit {
    inflateEnd(self.stream)
    self.stream.deallocate()
  }

  /// Inflates all of `input`, calling `sink` with the inflated bytes in successive pieces.
  ///
  /// - Throws: `FormatError` for corrupt data or a limit, or what `sink` throws (unchanged).
  package func inflate(_ input: ByteBuffer, into sink: (ByteBuffer) throws -> Void) throws {
    try self.inflate(input, into: sink, offersResumePoints: false) { _ in }
  }

  /// Inflates all of `input`, calling `sink` with the inflated bytes in successive pieces, and
  /// `onResumePoint` at each resume point once the sink has had every byte before it.
  ///
  /// - Throws: `FormatError` for corrupt data or a limit, or what `sink` or `onResumePoint`
  ///   throws (unchanged).
  package func inflate(
    _ input: ByteBuffer,
    into sink: (ByteBuffer) throws -> Void,
    onResumePoint: (GzipResumePoint) throws -> Void
  ) throws {
    try self.inflate(input, into: sink, offersResumePoints: true, onResumePoint: onResumePoint)
  }

  private func inflate(
    _ input: ByteBuffer,
    into sink: (ByteBuffer) throws -> Void,
    offersResumePoints: Bool,
    onResumePoint: (GzipResumePoint) throws -> Void
  ) throws {
    try input.withUnsafeReadableBytes { raw in
      var index = 0
      // Whether zlib filled the output and may hold more without further input.
      var outputFull = false
      var stalls = 0
      reading: while true {
        if outputFull {
          try self.flush(into: sink)
        }
        switch self.phase {
        case .trailer(let bytes):
          guard index < raw.count else { break reading }
          index += try self.readTrailer(bytes, from: raw, at: index)
          continue
        case .betweenMembers:
          guard index < raw.count else { break reading }
          try self.startNextMember()
        case .member, .rawMember:
          guard index < raw.count || outputFull else { break reading }
        }
        let (used, made, status) = self.step(raw, at: index)
        index += used
        outputFull = self.output.readableBytes >= Self.pieceSize
        switch status {
        case Z_OK, Z_BUF_ERROR:
          // A call that starts at a block end may move on without a byte in or out; more is a stall.
          stalls = used == 0 && made == 0 && index < raw.count ? stalls + 1 : 0
          guard stalls < 3 else { throw self.corrupt("zlib made no progress") }
        case Z_STREAM_END:
          self.phase = self.phase == .rawMember ? .trailer([]) : .betweenMembers
        case Z_MEM_ERROR:
          throw FormatError.limitExceeded(
            "the gzip stream cannot be inflated: out of memory at byte \(self.consumedBytes)",
            offset: self.consumedBytes
          )
        default:
          throw self.corrupt(nil)
        }
        try self.checkLimits()
        if offersResumePoints, let point = self.resumePoint() {
          try self.flush(into: sink)
          outputFull = false
          self.lastResumePoint = self.producedBytes
          try onResumePoint(point)
        }
      }
    }
    try self.flush(into: sink)
  }

  /// The input has ended.
  ///
  /// - Throws: `FormatError` (`malformed`) when the stream stopped inside a gzip member or held no
  ///   member at all.
  package func finish() throws(FormatError) {
    guard self.consumedBytes > 0, self.phase == .betweenMembers else { throw self.truncated() }
  }

  /// Runs zlib once over the input from `index`, into the output buffer's free room.
  private func step(_ raw: UnsafeRawBufferPointer, at index: Int) -> (used: Int, made: Int, status: Int32) {
    let available = min(raw.count - index, Int(UInt32.max))
    let room = Self.pieceSize - self.output.readableBytes
    var status = Z_OK
    let made = self.output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { target in
      let stream = self.stream
      stream.pointee.next_in =
        available > 0
        ? UnsafeMutablePointer(mutating: raw.baseAddress!.assumingMemoryBound(to: Bytef.self) + index) : nil
      stream.pointee.avail_in = uInt(available)
      let out = target.baseAddress!.assumingMemoryBound(to: Bytef.self)
      stream.pointee.next_out = out
      stream.pointee.avail_out = uInt(room)
      status = CBulkZlib.inflate(stream, Z_BLOCK)
      let made = room - Int(stream.pointee.avail_out)
      if self.phase == .rawMember, made > 0 {
        self.memberCRC = UInt32(truncatingIfNeeded: crc32(uLong(self.memberCRC), out, uInt(made)))
      }
      return made
    }
    let used = available - Int(self.stream.pointee.avail_in)
    if used > 0 {
      self.lastInputByte = raw[index + used - 1]
    }
    self.consumedBytes += Int64(used)
    self.producedBytes += Int64(made)
    self.memberBytes += Int64(made)
    return (used, made, status)
  }

  /// Where the stream could be taken up now, when zlib stopped at the end of a block that is not a
  /// member's last and the span since the last point has passed.
  private func resumePoint() -> GzipResumePoint? {
    let dataType = self.stream.pointee.data_type
    guard dataType & 0xC0 == 0x80, self.phase == .member || self.phase == .rawMember,
      self.producedBytes - self.lastResumePoint >= self.resumeSpan
    else { return nil }
    var window = [UInt8](repeating: 0, count: Self.windowSize)
    var length: uInt = 0
    guard inflateGetDictionary(self.stream, &window, &length) == Z_OK else { return nil }
    window.removeLast(window.count - Int(length))
    let bits = UInt8(dataType & 7)
    return GzipResumePoint(
      compressedOffset: self.consumedBytes,
      inflatedOffset: self.producedBytes,
      bits: bits,
      bitByte: bits > 0 ? self.lastInputByte : 0,
      window: window,
      memberCRC: self.phase == .member ? UInt32(truncatingIfNeeded: self.stream.pointee.adler) : self.memberCRC,
      memberBytes: self.memberBytes
    )
  }

  /// Reads trailer bytes of a taken-up member (CRC-32, then the size, little-endian) and checks
  /// each once it is whole, at the byte where zlib would report it.
  ///
  /// - Returns: the bytes used.
  private func readTrailer(_ bytes: [UInt8], from raw: UnsafeRawBufferPointer, at index: Int) throws(FormatError) -> Int
  {
    let take = min((bytes.count < 4 ? 4 : 8) - bytes.count, raw.count - index)
    let trailer = bytes + raw[index ..< index + take]
    self.consumedBytes += Int64(take)
    self.phase = .trailer(trailer)
    if trailer.count == 4 {
      let crc = trailer[0 ..< 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      guard crc == self.memberCRC else { throw self.corrupt("incorrect data check") }
    } else if trailer.count == 8 {
      let size = trailer[4 ..< 8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      guard size == UInt32(truncatingIfNeeded: self.memberBytes) else { throw self.corrupt("incorrect length check") }
      self.phase = .betweenMembers
    }
    return take
  }

  private func flush(into sink: (ByteBuffer) throws -> Void) throws {
    guard self.output.readableBytes > 0 else { return }
    try sink(self.output)
    self.output.clear()
  }

  private func checkLimits() throws(FormatError) {
    if self.producedBytes > self.limits.maxInflatedBytes {
      throw .limitExceeded(
        "the gzip stream inflates to more than \(self.limits.maxInflatedBytes) bytes "
          + "(at compressed byte \(self.consumedBytes))",
        offset: self.consumedBytes
      )
    }
    if self.producedBytes > self.limits.ratioAllowance(consumed: self.consumedBytes) {
      throw .limitExceeded(
        "the gzip stream inflates more than \(self.limits.maxRatio) times: \(self.consumedBytes) compressed "
          + "bytes gave \(self.producedBytes) bytes",
        offset: self.consumedBytes
      )
    }
  }

  private func startNextMember() throws(FormatError) {
    guard inflateReset2(self.stream, 15 + 16) == Z_OK else { throw self.corrupt("zlib cannot start a member") }
    self.phase = .member
    self.memberCRC = 0
    self.memberBytes = 0
  }

  private func truncated() -> FormatError {
    .malformed("the gzip stream is truncated at byte \(self.consumedBytes)", offset: self.consumedBytes)
  }

  private func corrupt(_ detail: String?) -> FormatError {
    let reason = detail ?? self.stream.pointee.msg.map { String(cString: $0) }
    return .malformed(
      "the gzip stream is corrupt at byte \(self.consumedBytes)" + (reason.map { " (\($0))" } ?? ""),
      offset: self.consumedBytes
    )
  }
}

/// A place at the end of a deflate block where `GzipInflater` can take a gzip stream up again.
package struct GzipResumePoint: Hashable, Sendable {
  /// Compressed bytes consumed up to the block end; the stream goes on from this offset.
  package var compressedOffset: Int64
  /// Inflated bytes produced up to the block end.
  package var inflatedOffset: Int64
  /// Bits of the byte before `compressedOffset` that the next block starts with (0 to 7).
  package var bits: UInt8
  /// The byte before `compressedOffset` when `bits` is not 0.
  package var bitByte: UInt8
  /// The member's last inflated bytes, up to 32 KiB: what the next blocks may refer back to.
  package var window: [UInt8]
  /// The CRC-32 of the member's inflated bytes so far.
  package var memberCRC: UInt32
  /// The member's inflated bytes so far.
  package var memberBytes: Int64

  /// A resume point.
  package init(
    compressedOffset: Int64,
    inflatedOffset: Int64,
    bits: UInt8,
    bitByte: UInt8,
    window: [UInt8],
    memberCRC: UInt32,
    memberBytes: Int64
  ) {
    self.compressedOffset = compressedOffset
    self.inflatedOffset = inflatedOffset
    self.bits = bits
    self.bitByte = bitByte
    self.window = window
    self.memberCRC = memberCRC
    self.memberBytes = memberBytes
  }
}
