internal import CBulkZlib
package import NIOCore

/// Everything needed to go on checking an upload from where a checker stood, without reading the
/// stored bytes before `storedOffset`: where the record stream stands and, for gzip, where the
/// inflater stands, with the inflated bytes that cannot be read back without inflating from the
/// start (the CSV header, and the record still open at the deflate block end).
///
/// It encodes to a compact binary form with a version and a CRC-32; `init(decoding:)` refuses
/// anything else, so an unknown or damaged checkpoint is never used.
package struct StreamCheckpoint: Hashable, Sendable {
  private static let magic: [UInt8] = Array("SBCK".utf8)
  private static let version: UInt8 = 1

  /// Where the record stream stands: the last complete record's end. For gzip, `nil` when no
  /// record had ended yet (`tail` then starts at the stream's first byte).
  package var records: ResumePoint?
  /// For a gzip upload: where the inflater stands.
  package var gzip: GzipResumePoint?
  /// For a gzip CSV upload: the inflated stream's first `records.headerEnd` bytes; empty otherwise.
  package var header: ByteBuffer
  /// For a gzip upload: the inflated bytes from the last complete record's end (or the stream's
  /// start) up to `gzip.inflatedOffset`; empty otherwise.
  package var tail: ByteBuffer

  /// A checkpoint of an uncompressed upload.
  package init(records: ResumePoint) {
    self.records = records
    self.gzip = nil
    self.header = ByteBuffer()
    self.tail = ByteBuffer()
  }

  /// A checkpoint of a gzip upload.
  package init(records: ResumePoint?, gzip: GzipResumePoint, header: ByteBuffer, tail: ByteBuffer) {
    self.records = records
    self.gzip = gzip
    self.header = header
    self.tail = tail
  }

  /// The stored upload's offset to read on from.
  package var storedOffset: Int64 { self.gzip?.compressedOffset ?? self.records?.offset ?? 0 }

  /// How many of the stored upload's first bytes to read first: an uncompressed CSV header.
  package var storedPrefixLength: Int64 { self.gzip == nil ? self.records?.headerEnd ?? 0 : 0 }

  /// The binary form.
  package func encoded() -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(
      capacity: 128 + (self.gzip?.window.count ?? 0) + self.header.readableBytes + self.tail.readableBytes
    )
    buffer.writeBytes(Self.magic)
    buffer.writeInteger(Self.version)
    buffer.writeInteger(UInt8((self.records == nil ? 0 : 1) | (self.gzip == nil ? 0 : 2)))
    if let records = self.records {
      buffer.writeInteger(records.headerEnd)
      buffer.writeInteger(records.offset)
      buffer.writeInteger(records.records)
      buffer.writeInteger(records.layout.rawValue)
    }
    if let gzip = self.gzip {
      buffer.writeInteger(gzip.compressedOffset)
      buffer.writeInteger(gzip.inflatedOffset)
      buffer.writeInteger(gzip.bits)
      buffer.writeInteger(gzip.bitByte)
      buffer.writeInteger(gzip.memberCRC)
      buffer.writeInteger(gzip.memberBytes)
      buffer.writeInteger(UInt32(gzip.window.count))
      buffer.writeBytes(gzip.window)
      buffer.writeInteger(UInt32(self.header.readableBytes))
      buffer.writeImmutableBuffer(self.header)
      buffer.writeInteger(UInt32(self.tail.readableBytes))
      buffer.writeImmutableBuffer(self.tail)
    }
    buffer.writeInteger(Self.crc(buffer))
    return buffer
  }

  /// Decodes `encoded()`'s form; `nil` for another version, a damaged checkpoint, or one whose
  /// parts do not fit together.
  package init?(decoding bytes: ByteBuffer) {
    var buffer = bytes
    guard buffer.readableBytes >= Self.magic.count + 6,
      let body = buffer.getSlice(at: buffer.readerIndex, length: buffer.readableBytes - 4),
      let crc = buffer.getInteger(at: buffer.writerIndex - 4, as: UInt32.self),
      crc == Self.crc(body),
      buffer.readBytes(length: Self.magic.count) == Self.magic,
      buffer.readInteger(as: UInt8.self) == Self.version,
      let parts = buffer.readInteger(as: UInt8.self), parts & ~3 == 0
    else { return nil }
    buffer.moveWriterIndex(to: buffer.writerIndex - 4)
    var records: ResumePoint?
    if parts & 1 != 0 {
      guard let headerEnd = buffer.readInteger(as: Int64.self), let offset = buffer.readInteger(as: Int64.self),
        let count = buffer.readInteger(as: Int64.self),
        let layout = buffer.readInteger(as: UInt8.self).flatMap(ResumePoint.Layout.init(rawValue:)),
        headerEnd >= 0, headerEnd <= offset, count >= 0, layout == .csv || headerEnd == 0
      else { return nil }
      records = ResumePoint(headerEnd: headerEnd, offset: offset, records: count, layout: layout)
    }
    guard parts & 2 != 0 else {
      guard let records, buffer.readableBytes == 0 else { return nil }
      self.init(records: records)
      return
    }
    guard let compressedOffset = buffer.readInteger(as: Int64.self),
      let inflatedOffset = buffer.readInteger(as: Int64.self),
      let bits = buffer.readInteger(as: UInt8.self), let bitByte = buffer.readInteger(as: UInt8.self),
      let memberCRC = buffer.readInteger(as: UInt32.self), let memberBytes = buffer.readInteger(as: Int64.self),
      let window = Self.readPart(&buffer).map({ Array($0.readableBytesView) }),
      let header = Self.readPart(&buffer), let tail = Self.readPart(&buffer),
      buffer.readableBytes == 0,
      compressedOffset > 0, bits < 8, window.count <= GzipInflater.windowSize,
      memberBytes >= 0, memberBytes <= inflatedOffset,
      Int64(tail.readableBytes) == inflatedOffset - (records?.offset ?? 0),
      Int64(header.readableBytes) == (records?.layout == .csv ? records?.headerEnd ?? 0 : 0)
    else { return nil }
    let point = GzipResumePoint(
      compressedOffset: compressedOffset,
      inflatedOffset: inflatedOffset,
      bits: bits,
      bitByte: bitByte,
      window: window,
      memberCRC: memberCRC,
      memberBytes: memberBytes
    )
    self.init(records: records, gzip: point, header: header, tail: tail)
  }

  private static func readPart(_ buffer: inout ByteBuffer) -> ByteBuffer? {
    guard let length = buffer.readInteger(as: UInt32.self) else { return nil }
    return buffer.readSlice(length: Int(length))
  }

  private static func crc(_ bytes: ByteBuffer) -> UInt32 {
    bytes.withUnsafeReadableBytes { raw in
      UInt32(
        truncatingIfNeeded: crc32(0, raw.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(raw.count))
      )
    }
  }
}
