internal import NIOCore

/// Drops a UTF-8 byte order mark (EF BB BF) at the very start of a stream, even when the stream's
/// first pieces are shorter than the mark.
struct ByteOrderMarkSkipper {
  private static let mark: [UInt8] = [0xEF, 0xBB, 0xBF]

  /// Whether the stream's start has been seen far enough to decide.
  private var resolved: Bool
  /// The first bytes of the stream while they may still be a byte order mark.
  private var lead: ByteBuffer?

  /// A skipper; a disabled one passes every byte on (for pieces cut from the middle of a stream).
  init(enabled: Bool = true) {
    self.resolved = !enabled
  }

  /// The bytes to read after `bytes` arrived, and how many bytes of a mark were dropped just now
  /// (3 or 0); `nil` while the first bytes could still be a mark.
  mutating func feed(_ bytes: ByteBuffer) -> (bytes: ByteBuffer, dropped: Int64)? {
    if self.resolved {
      return (bytes, 0)
    }
    var combined = bytes
    if var lead = self.lead {
      lead.writeImmutableBuffer(bytes)
      combined = lead
    }
    let view = combined.readableBytesView
    let length = min(Self.mark.count, view.count)
    guard view.prefix(length).elementsEqual(Self.mark.prefix(length)) else {
      self.resolve()
      return (combined, 0)
    }
    guard length == Self.mark.count else {
      self.lead = combined
      return nil
    }
    self.resolve()
    combined.moveReaderIndex(forwardBy: Self.mark.count)
    return (combined, Int64(Self.mark.count))
  }

  /// The stream has ended: the bytes still held back (a stream shorter than a mark), or `nil`.
  mutating func finish() -> ByteBuffer? {
    defer { self.resolve() }
    return self.resolved ? nil : self.lead
  }

  private mutating func resolve() {
    self.resolved = true
    self.lead = nil
  }
}
