internal import CompressNIO
package import NIOCore

/// Inflates a gzip stream fed in pieces, under `InflateLimits`, handing the inflated bytes on in
/// pieces of at most `pieceSize` so that memory stays flat for any input.
///
/// Concatenated gzip members (as `cat a.gz b.gz` makes) inflate as one stream. Corrupt data, a
/// stream cut short (`finish()`), too many inflated bytes and a ratio past the cap are
/// `FormatError`s naming the compressed byte offset.
///
/// The inflater owns a zlib stream: it is not `Sendable`, and one task or thread at a time uses it.
package final class GzipInflater {
  /// The most bytes handed to the sink at once.
  package static let pieceSize = 128 << 10

  private let decompressor: ZlibDecompressor
  private let limits: InflateLimits
  /// The reused buffer the decompressor writes into.
  private var output: ByteBuffer
  /// Compressed bytes consumed so far.
  package private(set) var consumedBytes: Int64 = 0
  /// Inflated bytes produced so far.
  package private(set) var producedBytes: Int64 = 0

  /// An inflater under `limits`.
  ///
  /// - Throws: `FormatError` (`limitExceeded`) when zlib cannot allocate its stream.
  package init(limits: InflateLimits = InflateLimits()) throws(FormatError) {
    do {
      self.decompressor = try ZlibDecompressor(algorithm: .gzip)
    } catch {
      throw .limitExceeded("cannot start a gzip stream: \(error)", offset: 0)
    }
    self.limits = limits
    self.output = ByteBufferAllocator().buffer(capacity: Self.pieceSize)
  }

  /// Inflates all of `input`, calling `sink` with the inflated bytes in successive pieces.
  ///
  /// - Throws: `FormatError` for corrupt data or a limit, or what `sink` throws (unchanged).
  package func inflate(_ input: ByteBuffer, into sink: (ByteBuffer) throws -> Void) throws {
    var input = input
    var outputFull = false
    while input.readableBytes > 0 || outputFull {
      let inputBefore = input.readableBytes
      let outputBefore = self.output.readableBytes
      var memberEnded = false
      outputFull = false
      do {
        try self.decompressor.inflate(from: &input, to: &self.output)
        memberEnded = input.readableBytes > 0
      } catch let error as CompressNIOError where error == .bufferOverflow {
        outputFull = true
      } catch let error as CompressNIOError where error == .inputBufferOverflow {
        outputFull = false
      } catch {
        self.consumedBytes += Int64(inputBefore - input.readableBytes)
        throw self.corrupt(error)
      }
      self.consumedBytes += Int64(inputBefore - input.readableBytes)
      self.producedBytes += Int64(self.output.readableBytes - outputBefore)
      try self.checkLimits()
      if outputFull {
        try self.flush(into: sink)
      }
      if memberEnded {
        try self.startNextMember()
      }
    }
    try self.flush(into: sink)
  }

  /// The input has ended.
  ///
  /// - Throws: `FormatError` (`malformed`) when the stream stopped inside a gzip member or held no
  ///   member at all.
  package func finish() throws(FormatError) {
    guard self.consumedBytes > 0 else { throw self.truncated() }
    var empty = ByteBufferAllocator().buffer(capacity: 1)
    do {
      try self.decompressor.inflate(from: &empty, to: &self.output)
    } catch let error as CompressNIOError where error == .inputBufferOverflow {
      throw self.truncated()
    } catch {
      throw self.corrupt(error)
    }
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
    do {
      try self.decompressor.reset()
    } catch {
      throw self.corrupt(error)
    }
  }

  private func truncated() -> FormatError {
    .malformed("the gzip stream is truncated at byte \(self.consumedBytes)", offset: self.consumedBytes)
  }

  private func corrupt(_ error: any Error) -> FormatError {
    let reason = (error as? CompressNIOError) == .corruptData ? "corrupt" : "unreadable (\(error))"
    return .malformed(
      "the gzip stream is \(reason) at byte \(self.consumedBytes)",
      offset: self.consumedBytes
    )
  }
}
