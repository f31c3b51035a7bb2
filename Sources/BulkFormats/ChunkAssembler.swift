internal import NIOCore

/// Gathers the bytes of a record stream into `RecordChunk`s, cutting only where the scanner says a
/// record's unit ends.
///
/// A unit is a record with the blank lines before it. A chunk is closed lazily, when the next unit
/// ends and would not fit (`maxRecords` records already, or more than `maxBytes` bytes with it),
/// so a unit larger than `maxBytes` forms a chunk alone and blank lines at the very end stay with
/// the last chunk.
///
/// The open chunk's bytes from earlier pieces are kept as slices of those pieces, not copied: a
/// chunk that lies inside one piece is a slice of it, and a chunk that spans pieces is copied once,
/// into a buffer of its exact size, when it closes.
struct ChunkAssembler {
  private let maxRecords: Int
  private let maxBytes: Int64
  /// Units still to be taken as the header before chunks begin.
  private var headerUnits: Int
  /// The header unit's bytes, once it ended.
  private(set) var header: ByteBuffer?
  /// The stream offset just after the header unit, once it ended.
  private(set) var headerEnd: Int64?

  /// The open chunk's bytes from earlier pieces, in order: positions `chunkStart ..< pieceStart`.
  private var held: [ByteBuffer] = []
  private var piece = ByteBuffer()
  /// The position of the current piece's first byte; positions count the bytes given so far.
  private var pieceStart: Int64 = 0
  private var chunkStart: Int64 = 0
  private var chunkOffset: Int64 = 0
  private var chunkRecords = 0
  private var lastUnitEnd: Int64 = 0
  private var nextIndex = 0
  private var recordsEmitted: Int64 = 0
  /// Added to a position to give a stream offset (the length of a dropped byte order mark).
  var positionBias: Int64 = 0

  /// An assembler whose first `headerUnits` units (0 or 1) form the header.
  init(maxRecords: Int, maxBytes: Int, headerUnits: Int) {
    self.maxRecords = maxRecords
    self.maxBytes = Int64(maxBytes)
    self.headerUnits = headerUnits
  }

  /// Records whose end has been seen: those in chunks already given out and in the open one.
  var completedRecords: Int64 { self.recordsEmitted + Int64(self.chunkRecords) }

  /// The bytes of the unit in progress, from the end of the last unit to the end of the pieces.
  var openUnitLength: Int64 {
    self.pieceStart + Int64(self.piece.readableBytes) - self.lastUnitEnd
  }

  /// The stream offset just after the last unit that ended.
  var lastUnitEndOffset: Int64 { self.lastUnitEnd + self.positionBias }

  /// Continues as if `bytes` more bytes holding `records` complete records had been read, at a
  /// unit boundary (see `RecordSplitter.resume(at:)`).
  mutating func skipRecords(bytes: Int64, records: Int64) {
    self.positionBias += bytes
    self.recordsEmitted += records
  }

  /// Starts the next piece of the stream.
  mutating func beginPiece(_ piece: ByteBuffer) {
    self.piece = piece
  }

  /// A unit ends before `index` of the current piece.
  ///
  /// - Parameter offset: the stream offset to report for a chunk that starts with this unit; by
  ///   default the unit's own first byte.
  @inline(__always)
  mutating func unitEnded(at index: Int, offset: Int64? = nil, onChunk: (RecordChunk) throws -> Void) throws {
    let end = self.pieceStart + Int64(index)
    let unitStart = self.lastUnitEnd
    self.lastUnitEnd = end
    guard self.chunkRecords > 0 && self.chunkRecords < self.maxRecords && end - self.chunkStart <= self.maxBytes
    else {
      try self.startChunk(unitStart: unitStart, end: end, offset: offset, onChunk: onChunk)
      return
    }
    self.chunkRecords += 1
  }

  /// The current piece is used up: holds on to the open chunk's bytes from it.
  mutating func endPiece() {
    let count = self.piece.readableBytes
    let from = max(Int(self.chunkStart - self.pieceStart), 0)
    if from < count, let rest = self.piece.getSlice(at: self.piece.readerIndex + from, length: count - from) {
      self.held.append(rest)
    }
    self.pieceStart += Int64(count)
    self.piece = ByteBuffer()
  }

  /// The stream has ended (after `endPiece`): the last unit ends with it.
  mutating func unitEndedAtEndOfInput(offset: Int64? = nil, onChunk: (RecordChunk) throws -> Void) throws {
    try self.unitEnded(at: 0, offset: offset, onChunk: onChunk)
  }

  /// The stream has ended (after `endPiece`): closes the last chunk. Bytes after the last unit
  /// (blank lines) stay with it; without any record they are dropped.
  mutating func finish(onChunk: (RecordChunk) throws -> Void) throws {
    if self.chunkRecords > 0 {
      try self.close(at: self.pieceStart, onChunk: onChunk)
    }
  }

  /// The unit that ended is the header, or the first of a chunk (after closing a full one).
  @inline(never)
  private mutating func startChunk(
    unitStart: Int64,
    end: Int64,
    offset: Int64?,
    onChunk: (RecordChunk) throws -> Void
  ) throws {
    if self.headerUnits > 0 {
      self.headerUnits -= 1
      let bytes = self.take(upTo: end)
      var header = ByteBufferAllocator().buffer(capacity: bytes.readableBytes)
      header.writeImmutableBuffer(bytes)
      self.header = header
      self.headerEnd = end + self.positionBias
      return
    }
    if self.chunkRecords > 0 {
      try self.close(at: unitStart, onChunk: onChunk)
    }
    self.chunkOffset = offset ?? (self.chunkStart + self.positionBias)
    self.chunkRecords = 1
  }

  private mutating func close(at position: Int64, onChunk: (RecordChunk) throws -> Void) throws {
    let chunk = RecordChunk(
      index: self.nextIndex,
      firstRecord: self.recordsEmitted + 1,
      recordCount: self.chunkRecords,
      offset: self.chunkOffset,
      bytes: self.take(upTo: position)
    )
    self.nextIndex += 1
    self.recordsEmitted += Int64(self.chunkRecords)
    self.chunkRecords = 0
    try onChunk(chunk)
  }

  /// The bytes from `chunkStart` up to `position`, which becomes the new `chunkStart`.
  private mutating func take(upTo position: Int64) -> ByteBuffer {
    var length = Int(position - self.chunkStart)
    self.chunkStart = position
    var parts: [ByteBuffer] = []
    while length > 0, !self.held.isEmpty {
      let part = min(length, self.held[0].readableBytes)
      parts.append(self.held[0].readSlice(length: part) ?? ByteBuffer())
      if self.held[0].readableBytes == 0 {
        self.held.removeFirst()
      }
      length -= part
    }
    if length > 0 {
      let from = Int(position - self.pieceStart) - length
      parts.append(self.piece.getSlice(at: self.piece.readerIndex + from, length: length) ?? ByteBuffer())
    }
    guard parts.count > 1 else { return parts.first ?? ByteBuffer() }
    var bytes = ByteBufferAllocator().buffer(capacity: parts.reduce(0) { $0 + $1.readableBytes })
    for part in parts {
      bytes.writeImmutableBuffer(part)
    }
    return bytes
  }
}
