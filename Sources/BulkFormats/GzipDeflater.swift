internal import BulkCore
internal import CBulkZlib

/// Compresses bytes into one gzip member, as `gzip` writes them: what Redshift's `COPY … GZIP`
/// and any gzip reader take.
package final class GzipDeflater {
  private var stream = z_stream()
  private var finished = false

  /// A deflater at `level` (1 fastest … 9 smallest; zlib's default 6 when `nil`).
  package init(level: Int32? = nil) throws {
    let status = CBulkZlib_deflateInit2(&self.stream, level ?? Z_DEFAULT_COMPRESSION, 15 + 16)
    guard status == Z_OK else {
      throw BulkError(code: .internal, message: "the gzip compressor could not start (zlib status \(status))")
    }
  }

  deinit {
    deflateEnd(&self.stream)
  }

  /// Compresses `input`, appending what zlib produced to `output`.
  package func write(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
    try self.run(input, flush: Z_NO_FLUSH, into: &output)
  }

  /// Ends the member (the rest of the deflate data and the CRC-32 and size trailer) into
  /// `output`; the deflater takes nothing after this.
  package func finish(into output: inout [UInt8]) throws {
    guard !self.finished else { return }
    try self.run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, into: &output)
    self.finished = true
  }

  /// `bytes` as one gzip member.
  package static func compress(_ bytes: [UInt8], level: Int32? = nil) throws -> [UInt8] {
    let deflater = try GzipDeflater(level: level)
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count / 3 + 64)
    try bytes.withUnsafeBytes { input in try deflater.write(input, into: &output) }
    try deflater.finish(into: &output)
    return output
  }

  private func run(_ input: UnsafeRawBufferPointer, flush: Int32, into output: inout [UInt8]) throws {
    guard !self.finished else { throw BulkError(code: .internal, message: "the gzip member is already finished") }
    var next = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
    var remaining = input.count
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      // zlib counts in 32 bits: feed at most 1 GiB at a time.
      let feed = min(remaining, 1 << 30)
      self.stream.next_in = next
      self.stream.avail_in = uInt(feed)
      let status = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
        self.stream.next_out = out.baseAddress
        self.stream.avail_out = uInt(out.count)
        let status = deflate(&self.stream, feed < remaining ? Z_NO_FLUSH : flush)
        return status
      }
      let produced = buffer.count - Int(self.stream.avail_out)
      output.append(contentsOf: buffer[0 ..< produced])
      let consumed = feed - Int(self.stream.avail_in)
      next = next.map { $0 + consumed }
      remaining -= consumed
      switch status {
      case Z_STREAM_END:
        return
      case Z_OK, Z_BUF_ERROR:
        if remaining == 0 && self.stream.avail_out != 0 && flush != Z_FINISH { return }
      default:
        throw BulkError(code: .internal, message: "the gzip compressor failed (zlib status \(status))")
      }
    }
  }
}
