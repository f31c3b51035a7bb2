internal import CompressNIO
internal import NIOCore

/// Makes gzip data for the tests with CompressNIO's streaming deflate.
enum Gzip {
  /// `bytes` as one gzip member.
  static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
    let compressor = try ZlibCompressor(algorithm: .gzip)
    var input = ByteBuffer(bytes: bytes)
    var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
    try compressor.deflate(from: &input, to: &output, flush: .finish)
    return Array(output.readableBytesView)
  }

  /// One gzip member of `count` zero bytes, made by deflating one reused 1 MiB buffer of zeros
  /// again and again, so that memory stays small.
  static func zeros(count: Int) throws -> ByteBuffer {
    let compressor = try ZlibCompressor(
      algorithm: .gzip,
      configuration: ZlibConfiguration(compressionLevel: .bestCompression)
    )
    let block = 1 << 20
    var input = ByteBuffer(repeating: 0, count: block)
    var output = ByteBuffer()
    var remaining = count
    while remaining > 0 {
      input.moveReaderIndex(to: 0)
      input.moveWriterIndex(to: min(block, remaining))
      remaining -= input.readableBytes
      while input.readableBytes > 0 {
        output.reserveCapacity(minimumWritableBytes: 64 << 10)
        do {
          try compressor.deflate(from: &input, to: &output, flush: .no)
        } catch let error as CompressNIOError where error == .bufferOverflow {
          continue
        }
      }
    }
    var empty = ByteBufferAllocator().buffer(capacity: 1)
    while true {
      output.reserveCapacity(minimumWritableBytes: 64 << 10)
      do {
        try compressor.deflate(from: &empty, to: &output, flush: .finish)
        return output
      } catch let error as CompressNIOError where error == .bufferOverflow {
        continue
      }
    }
  }
}
