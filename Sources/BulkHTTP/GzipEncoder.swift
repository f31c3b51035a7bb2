internal import CompressNIO
internal import Foundation
internal import NIOCore

/// Compresses a response body as one gzip stream while it is written, through zlib
/// (CompressNIO). Memory stays bounded: each piece is compressed as it passes.
///
/// One encoder serves one response and is used by one task at a time; it owns its zlib stream
/// through `ZlibCompressor`, which frees it when the encoder goes away.
struct GzipEncoder {
  private let compressor: ZlibCompressor

  init() throws {
    self.compressor = try ZlibCompressor(algorithm: .gzip)
  }

  /// The compressed bytes for the next piece of the body (possibly none: zlib buffers).
  func compress(_ input: Data) throws -> [UInt8] {
    var from = ByteBuffer(bytes: input)
    var output = ByteBuffer()
    // Output pending from earlier pieces can fill the room before all input is taken: go on
    // until zlib has taken the whole piece.
    while from.readableBytes > 0 {
      output.reserveCapacity(minimumWritableBytes: max(self.compressor.maxSize(from: from), 64 << 10))
      try self.compressor.deflate(from: &from, to: &output, flush: .no)
    }
    return Array(output.readableBytesView)
  }

  /// The bytes that end the stream: what zlib still holds, and the gzip trailer.
  func finish() throws -> [UInt8] {
    var empty = ByteBuffer()
    var result: [UInt8] = []
    while true {
      var output = ByteBufferAllocator().buffer(capacity: 64 << 10)
      do {
        try self.compressor.deflate(from: &empty, to: &output, flush: .finish)
        result += output.readableBytesView
        return result
      } catch let error as CompressNIOError where error == .bufferOverflow {
        // More is pending than the buffer held: keep what came out and go on.
        result += output.readableBytesView
      }
    }
  }
}
