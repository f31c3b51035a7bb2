internal import BulkCore
internal import BulkFormats
internal import NIOCore

/// The checks an upload gets as its bytes arrive, where they are cheap: gzip integrity and the
/// size and ratio caps, the CSV header and its width, and record boundaries (which also count the records).
///
/// It is fed the upload from its first byte on, in order. A spool rebuilds it after a restart
/// from its `checkpoint` (CSV sent uncompressed: the header, then only the bytes after the last
/// complete record), or by replaying what is stored.
struct UploadValidator {
  private let inflater: GzipInflater?
  private var header: CSVHeaderReader?
  private var splitter: RecordSplitter
  /// Complete records seen so far (the CSV header excluded).
  var recordsReceived: Int64 { self.splitter.completedRecords }

  init(job: Job, limits: Limits) throws(BulkError) {
    let delimiter = job.columnDelimiter.asciiValue ?? UInt8(ascii: ",")
    do {
      self.inflater =
        job.compression == .gzip
        ? try GzipInflater(
          limits: InflateLimits(maxInflatedBytes: limits.maxInflatedBytes, maxRatio: limits.maxInflateRatio)
        )
        : nil
    } catch {
      throw Self.bulkError(error, inDecompressedData: false)
    }
    self.header = job.contentType == .csv ? CSVHeaderReader(delimiter: delimiter, maxColumns: limits.maxColumns) : nil
    // Small chunks: only the record boundaries matter here, and the chunks are dropped at once.
    self.splitter = RecordSplitter(format: job.contentType, delimiter: delimiter, maxRecords: 1024, maxBytes: 64 << 10)
  }

  /// A validator for an upload checked before up to `point.offset`: it reads `header` (the
  /// upload's first `point.headerEnd` bytes), then expects the bytes from `point.offset` on.
  init(job: Job, limits: Limits, resumingAt point: ResumePoint, header: ByteBuffer) throws(BulkError) {
    try self.init(job: job, limits: limits)
    var header = header
    try self.validate(&header, at: 0)
    self.splitter.resume(at: point)
  }

  /// What to store beside the upload to rebuild this validator without replaying it: only for
  /// CSV sent uncompressed (inflating cannot be taken up midway) once the header has ended.
  var checkpoint: ResumePoint? {
    guard self.inflater == nil, let point = self.splitter.resumePoint, point.headerEnd >= 4 else { return nil }
    return point
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

  private mutating func scan(_ bytes: ByteBuffer) throws {
    if var header = self.header {
      let names = try header.feed(bytes)
      self.header = names == nil ? header : nil
    }
    // Only the boundaries matter here: the chunks themselves are dropped.
    try self.splitter.feed(bytes) { _ in }
  }

  private static func bulkError(_ error: FormatError, inDecompressedData: Bool) -> BulkError {
    let message = inDecompressedData ? "in the decompressed data: \(error.message)" : error.message
    switch error.kind {
    case .malformed: return .invalidArgument(message)
    case .limitExceeded: return BulkError(code: .resourceExhausted, message: message)
    }
  }
}
