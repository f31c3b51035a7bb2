internal import BulkCore
internal import BulkFormats
internal import DequeModule
internal import Foundation
internal import NIOCore

/// Reads a job's sealed upload from storage and cuts it into chunks at record boundaries:
/// inflating gzip, splitting CSV and JSON without parsing fields, or counting record frames.
///
/// Cutting depends only on the upload and the job's chunk size, so a restart cuts the same
/// chunks and the ledger's chunk numbers keep their meaning.
struct UploadReader {
  let job: Job
  let storage: any JobStorage
  let limits: Limits
  let chunkRecords: Int
  let chunkBytes: Int

  /// The upload's columns (the CSV header, the first JSON object's keys, or the record batches'
  /// columns), known once the first chunk is cut.
  enum Columns {
    case csv(header: ByteBuffer)
    case json
    case typed([String])
  }

  /// Calls `body` with each chunk in order; `columns` is known before the first call.
  ///
  /// - Throws: `JobFailure` when the upload cannot be read to its end (a truncated gzip, an
  ///   unclosed quote), or what `body` throws.
  func forEachChunk(_ body: (Columns, UploadChunk) async throws -> Void) async throws {
    let chunks = self.chunks()
    while let (columns, chunk) = try chunks.next() {
      try await body(columns, chunk)
    }
  }

  /// The upload's chunks in order, each cut when it is asked for: between two calls the reader
  /// holds only its place in the upload and what it read past the last chunk (less than one
  /// piece of `pieceBytes`), never chunks read ahead.
  func chunks() -> any UploadChunks {
    switch self.job.contentType {
    case .recordBatch:
      TypedChunks(reader: self)
    case .csv, .json:
      TextChunks(reader: self)
    }
  }

  /// Bytes read from storage at a time: 1 MiB, so that an upload kept in S3 is read in few requests.
  static let pieceBytes = 1 << 20

  /// The next piece of the upload object `key`, from `position`.
  ///
  /// - Throws: `JobFailure` when the object is gone (the job was deleted while it ran).
  fileprivate func piece(_ key: StorageKey, at position: Int64) throws -> ByteBuffer {
    guard let data = try self.storage.read(key, range: position ..< position + Int64(Self.pieceBytes)) else {
      throw JobFailure("the upload cannot be read: it was removed")
    }
    return ByteBuffer(bytes: data)
  }
}

/// A job's chunks, cut one at a time from its upload.
protocol UploadChunks: AnyObject {
  /// The next chunk and the upload's columns (known from the first chunk on), or `nil` after the
  /// last.
  ///
  /// - Throws: `JobFailure` when the upload cannot be read to its end (a truncated gzip, an
  ///   unclosed quote).
  func next() throws -> (UploadReader.Columns, UploadChunk)?
}

/// CSV or JSON chunks: inflated when gzipped, cut at record boundaries without parsing fields.
private final class TextChunks: UploadChunks {
  private let reader: UploadReader
  private var splitter: RecordSplitter
  private var inflater: GzipInflater?
  /// The upload's size, once it is opened; `nil` when nothing was uploaded.
  private var size: Int64?
  private var pending: Deque<RecordChunk> = []
  private var position: Int64 = 0
  private var started = false
  private var finished = false

  init(reader: UploadReader) {
    self.reader = reader
    self.splitter = RecordSplitter(
      format: reader.job.contentType,
      delimiter: reader.job.columnDelimiter.asciiValue ?? UInt8(ascii: ","),
      maxRecords: reader.chunkRecords,
      maxBytes: reader.chunkBytes
    )
  }

  func next() throws -> (UploadReader.Columns, UploadChunk)? {
    while self.pending.isEmpty && !self.finished {
      try self.readPiece()
    }
    guard let chunk = self.pending.popFirst() else { return nil }
    let columns: UploadReader.Columns =
      self.reader.job.contentType == .csv ? .csv(header: self.splitter.header ?? ByteBuffer()) : .json
    return (
      columns,
      UploadChunk(
        index: chunk.index,
        firstRecord: chunk.firstRecord,
        payload: .text(chunk.bytes, records: chunk.recordCount, offset: chunk.offset)
      )
    )
  }

  /// Opens the upload on the first call, then reads one piece into the splitter.
  private func readPiece() throws {
    if !self.started {
      self.started = true
      // Nothing uploaded: a job without records.
      guard let size = try self.reader.storage.size(of: UploadObjects.text(self.reader.job.id)) else {
        self.finished = true
        return
      }
      self.size = size
      if self.reader.job.compression == .gzip {
        let limits = self.reader.limits
        self.inflater = try GzipInflater(
          limits: InflateLimits(maxInflatedBytes: limits.maxInflatedBytes, maxRatio: limits.maxInflateRatio)
        )
      }
    }
    guard let size = self.size else { return }
    var cut: [RecordChunk] = []
    do {
      if self.position < size {
        let piece = try self.reader.piece(UploadObjects.text(self.reader.job.id), at: self.position)
        self.position += Int64(piece.readableBytes)
        if let inflater = self.inflater {
          try inflater.inflate(piece) { inflated in
            try self.splitter.feed(inflated) { cut.append($0) }
          }
        } else {
          try self.splitter.feed(piece) { cut.append($0) }
        }
      } else {
        try self.inflater?.finish()
        try self.splitter.finish { cut.append($0) }
        self.finished = true
        self.size = nil
        self.inflater = nil
      }
    } catch let error as FormatError {
      throw JobFailure("the upload cannot be read: \(error.message)")
    }
    self.pending.append(contentsOf: cut)
  }
}

/// Record-batch chunks: `chunkRecords` length-prefixed frames each.
private final class TypedChunks: UploadChunks {
  private let reader: UploadReader
  private var columns: [String] = []
  /// The upload's size, once it is opened; `nil` when nothing was uploaded or all is read.
  private var size: Int64?
  private var buffer = ByteBuffer()
  private var position: Int64 = 0
  private var index = 0
  private var firstRecord: Int64 = 1
  private var started = false

  init(reader: UploadReader) {
    self.reader = reader
  }

  func next() throws -> (UploadReader.Columns, UploadChunk)? {
    if !self.started {
      self.started = true
      let storage = self.reader.storage
      guard let size = try storage.size(of: UploadObjects.records(self.reader.job.id)) else { return nil }
      guard let columns = try storage.read(UploadObjects.columns(self.reader.job.id), range: nil) else {
        throw JobFailure("the upload's columns are missing")
      }
      self.columns = try JSONDecoder().decode([String].self, from: columns)
      self.size = size
    }
    guard let size = self.size else { return nil }
    var frames: [Data] = []
    while true {
      while frames.count < self.reader.chunkRecords,
        let length = self.buffer.getInteger(at: self.buffer.readerIndex, endianness: .little, as: UInt32.self),
        self.buffer.readableBytes >= 4 + Int(length)
      {
        self.buffer.moveReaderIndex(forwardBy: 4)
        frames.append(Data(self.buffer.readBytes(length: Int(length)) ?? []))
      }
      self.buffer.discardReadBytes()
      if frames.count == self.reader.chunkRecords || self.position >= size { break }
      var piece = try self.reader.piece(UploadObjects.records(self.reader.job.id), at: self.position)
      self.position += Int64(piece.readableBytes)
      self.buffer.writeBuffer(&piece)
    }
    guard !frames.isEmpty else {
      self.size = nil
      return nil
    }
    let chunk = UploadChunk(index: self.index, firstRecord: self.firstRecord, payload: .frames(frames))
    self.index += 1
    self.firstRecord += Int64(frames.count)
    return (.typed(self.columns), chunk)
  }
}

/// A chunk of a job's upload.
struct UploadChunk: Sendable {
  /// 0-based.
  var index: Int
  /// The 1-based number of its first record.
  var firstRecord: Int64
  var payload: Payload

  enum Payload: Sendable {
    /// CSV or JSON records' bytes, inflated, as cut by `RecordSplitter`.
    case text(ByteBuffer, records: Int, offset: Int64)
    /// Record-batch rows, each in the neutral row encoding (`FieldValue.encodeRow`).
    case frames([Data])

    /// The chunk's bytes, for text chunks.
    var text: ByteBuffer? {
      if case .text(let bytes, _, _) = self { bytes } else { nil }
    }
  }
}
