internal import BulkCore
internal import BulkFormats
internal import NIOCore

/// The checks an upload gets as its bytes arrive, where they are cheap: gzip integrity and the
/// size and ratio caps, the CSV header and its width, and record boundaries (which also count the records).
///
/// It is fed the upload from its first byte on, in order. A spool rebuilds it after a restart
/// from its `checkpoint`, then feeds only the bytes after it, or by replaying what is stored.
struct UploadValidator {
  private let contentType: ContentType
  private let inflater: GzipInflater?
  private var header: CSVHeaderReader?
  private var splitter: RecordSplitter
  /// Complete records seen so far (the CSV header excluded).
  var recordsReceived: Int64 { self.splitter.completedRecords }

  // Gzip only: what a checkpoint needs of the inflated bytes, which cannot be read back from the
  // spool without inflating it from the start.
  /// The last checkpoint, taken at the last resume point the inflater offered.
  private var gzipCheckpoint: StreamCheckpoint?
  /// CSV: the inflated header (the stream's first `headerEnd` bytes), once it ended.
  private var inflatedHeader: ByteBuffer?
  /// The inflated bytes from the last complete record's end (or the stream's start) on.
  private var tail = ByteBuffer()
  /// The inflated bytes scanned so far.
  private var inflatedOffset: Int64 = 0

  init(job: Job, limits: Limits) throws(BulkError) {
    try self.init(job: job, limits: limits, gzipPoint: nil)
  }

  /// A validator that goes on from `checkpoint` (from `checkpoint(decoding:job:)`): it reads
  /// `storedPrefix` (the upload's first `checkpoint.storedPrefixLength` bytes), then expects the
  /// upload's bytes from `checkpoint.storedOffset` on.
  init(job: Job, limits: Limits, resumingAt checkpoint: StreamCheckpoint, storedPrefix: ByteBuffer) throws(BulkError) {
    try self.init(job: job, limits: limits, gzipPoint: checkpoint.gzip)
    guard self.inflater != nil else {
      var prefix = storedPrefix
      try self.validate(&prefix, at: 0)
      if let point = checkpoint.records {
        self.splitter.resume(at: point)
      }
      return
    }
    if let point = checkpoint.records {
      if point.layout == .csv {
        try self.scanInflated(checkpoint.header)
      }
      self.splitter.resume(at: point)
      self.inflatedOffset = point.offset
      self.tail.clear()
    }
    try self.scanInflated(checkpoint.tail)
    self.gzipCheckpoint = checkpoint
  }

  private init(job: Job, limits: Limits, gzipPoint: GzipResumePoint?) throws(BulkError) {
    let delimiter = job.columnDelimiter.asciiValue ?? UInt8(ascii: ",")
    self.contentType = job.contentType
    do {
      let inflateLimits = InflateLimits(maxInflatedBytes: limits.maxInflatedBytes, maxRatio: limits.maxInflateRatio)
      if job.compression != .gzip {
        self.inflater = nil
      } else if let gzipPoint {
        self.inflater = try GzipInflater(limits: inflateLimits, resumingAt: gzipPoint)
      } else {
        self.inflater = try GzipInflater(limits: inflateLimits)
      }
    } catch {
      throw Self.bulkError(error, inDecompressedData: false)
    }
    self.header = job.contentType == .csv ? CSVHeaderReader(delimiter: delimiter, maxColumns: limits.maxColumns) : nil
    // Small chunks: only the record boundaries matter here, and the chunks are dropped at once.
    self.splitter = RecordSplitter(format: job.contentType, delimiter: delimiter, maxRecords: 1024, maxBytes: 64 << 10)
  }

  /// The checkpoint stored as `bytes` when it fits `job`; `nil` (replay the upload) otherwise.
  static func checkpoint(decoding bytes: ByteBuffer, job: Job) -> StreamCheckpoint? {
    guard let checkpoint = StreamCheckpoint(decoding: bytes), (checkpoint.gzip != nil) == (job.compression == .gzip)
    else { return nil }
    switch (job.contentType, checkpoint.records) {
    case (.csv, let records?):
      // An uncompressed header is read back from the spool: it must have ended past a byte order mark.
      guard records.layout == .csv, checkpoint.gzip != nil || records.headerEnd >= 4 else { return nil }
    case (.json, let records?):
      guard records.layout != .csv else { return nil }
    case (.csv, nil), (.json, nil):
      guard checkpoint.gzip != nil else { return nil }
    default:
      return nil
    }
    return checkpoint
  }

  /// What to store beside the upload to rebuild this validator without replaying it: the last
  /// complete record's end and, for gzip, the last resume point the inflater offered. `nil`
  /// before there is one (a CSV header not ended, no record yet, no resume point yet).
  var checkpoint: StreamCheckpoint? {
    if self.inflater != nil { return self.gzipCheckpoint }
    guard let point = self.splitter.resumePoint, point.layout != .csv || point.headerEnd >= 4 else { return nil }
    return StreamCheckpoint(records: point)
  }

  /// Checks the next bytes of the upload, as sent.
  mutating func validate(_ bytes: inout ByteBuffer, at offset: Int64) throws(BulkError) {
    do {
      if let inflater = self.inflater {
        try inflater.inflate(bytes) { inflated in
          do {
            try self.scan(inflated)
          } catch let error as FormatError {
            throw DecompressedDataError(underlying: error)
          }
        } onResumePoint: { point in
          self.takeCheckpoint(at: point)
        }
      } else {
        try self.scan(bytes)
      }
    } catch let error as DecompressedDataError {
      throw Self.bulkError(error.underlying, inDecompressedData: true)
    } catch let error as FormatError {
      throw Self.bulkError(error, inDecompressedData: false)
    } catch {
      throw BulkError(code: .internal, message: "checking the upload at byte \(offset) failed: \(error)")
    }
  }

  /// A problem in the inflated bytes of a gzip upload, whose offsets count inflated bytes.
  private struct DecompressedDataError: Error {
    var underlying: FormatError
  }

  private mutating func scanInflated(_ bytes: ByteBuffer) throws(BulkError) {
    do {
      try self.scan(bytes)
    } catch let error as FormatError {
      throw Self.bulkError(error, inDecompressedData: true)
    } catch {
      throw BulkError(code: .internal, message: "checking the upload's checkpoint failed: \(error)")
    }
  }

  private mutating func scan(_ bytes: ByteBuffer) throws {
    if var header = self.header {
      let names = try header.feed(bytes)
      self.header = names == nil ? header : nil
    }
    // Only the boundaries matter here: the chunks themselves are dropped.
    try self.splitter.feed(bytes) { _ in }
    if self.inflater != nil {
      self.keepTail(bytes)
    }
  }

  /// Keeps the inflated bytes a checkpoint needs after `bytes` were scanned: the header once it
  /// ends, and the bytes after the last complete record (bounded by the record limit).
  private mutating func keepTail(_ bytes: ByteBuffer) {
    let start = self.inflatedOffset
    self.inflatedOffset += Int64(bytes.readableBytes)
    guard let point = self.splitter.resumePoint else {
      self.tail.writeImmutableBuffer(bytes)
      return
    }
    if point.layout == .csv, self.inflatedHeader == nil {
      // The header ended in this piece: until now the tail held the stream from its first byte.
      var header = self.tail
      header.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex, length: Int(point.headerEnd - start))!)
      self.inflatedHeader = header
    }
    if point.offset >= start {
      let from = Int(point.offset - start)
      self.tail.clear()
      self.tail.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + from, length: bytes.readableBytes - from)!)
    } else {
      self.tail.writeImmutableBuffer(bytes)
    }
  }

  private mutating func takeCheckpoint(at point: GzipResumePoint) {
    let records = self.splitter.resumePoint
    let header = records?.layout == .csv ? self.inflatedHeader ?? ByteBuffer() : ByteBuffer()
    guard point.inflatedOffset == self.inflatedOffset,
      Int64(self.tail.readableBytes) == point.inflatedOffset - (records?.offset ?? 0)
    else { return }
    self.gzipCheckpoint = StreamCheckpoint(records: records, gzip: point, header: header, tail: self.tail)
  }

  private static func bulkError(_ error: FormatError, inDecompressedData: Bool) -> BulkError {
    let message = inDecompressedData ? "in the decompressed data: \(error.message)" : error.message
    switch error.kind {
    case .malformed: return .invalidArgument(message)
    case .limitExceeded: return BulkError(code: .resourceExhausted, message: message)
    }
  }
}
