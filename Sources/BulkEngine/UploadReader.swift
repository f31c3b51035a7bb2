internal import BulkCore
internal import BulkFormats
internal import Foundation
internal import NIOCore

/// Reads a job's sealed upload from its spool and cuts it into chunks at record boundaries:
/// inflating gzip, splitting CSV and JSON without parsing fields, or counting record frames.
///
/// Cutting depends only on the upload and the job's chunk size, so a restart cuts the same
/// chunks and the ledger's chunk numbers keep their meaning.
struct UploadReader {
  let job: Job
  let folder: URL
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
    switch self.job.contentType {
    case .recordBatch:
      try await self.forEachTypedChunk(body)
    case .csv, .json:
      try await self.forEachTextChunk(body)
    }
  }

  private func forEachTextChunk(_ body: (Columns, UploadChunk) async throws -> Void) async throws {
    let delimiter = self.job.columnDelimiter.asciiValue ?? UInt8(ascii: ",")
    var splitter = RecordSplitter(
      format: self.job.contentType,
      delimiter: delimiter,
      maxRecords: self.chunkRecords,
      maxBytes: self.chunkBytes
    )
    let inflater =
      self.job.compression == .gzip
      ? try GzipInflater(
        limits: InflateLimits(maxInflatedBytes: limits.maxInflatedBytes, maxRatio: limits.maxInflateRatio)
      )
      : nil
    let path = self.folder.appendingPathComponent("upload").path
    // Nothing uploaded: a job without records.
    guard FileManager.default.fileExists(atPath: path) else { return }
    let file = try SpoolFile(path: path)
    var pending: [RecordChunk] = []
    var position: Int64 = 0
    var finished = false
    while !finished {
      do {
        if position < file.size {
          let piece = try file.readPiece(at: position, maxLength: 1 << 20)
          position += Int64(piece.readableBytes)
          if let inflater {
            try inflater.inflate(piece) { inflated in
              try splitter.feed(inflated) { pending.append($0) }
            }
          } else {
            try splitter.feed(piece) { pending.append($0) }
          }
        } else {
          try inflater?.finish()
          try splitter.finish { pending.append($0) }
          finished = true
        }
      } catch let error as FormatError {
        throw JobFailure("the upload cannot be read: \(error.message)")
      }
      for chunk in pending {
        let columns: Columns = self.job.contentType == .csv ? .csv(header: splitter.header ?? ByteBuffer()) : .json
        try await body(
          columns,
          UploadChunk(
            index: chunk.index,
            firstRecord: chunk.firstRecord,
            payload: .text(chunk.bytes, records: chunk.recordCount, offset: chunk.offset)
          )
        )
      }
      pending.removeAll(keepingCapacity: true)
    }
  }

  private func forEachTypedChunk(_ body: (Columns, UploadChunk) async throws -> Void) async throws {
    let path = self.folder.appendingPathComponent("records").path
    guard FileManager.default.fileExists(atPath: path) else { return }
    let columns = try JSONDecoder().decode(
      [String].self,
      from: Data(contentsOf: self.folder.appendingPathComponent("columns.json"))
    )
    let file = try SpoolFile(path: path)
    var buffer = ByteBuffer()
    var position: Int64 = 0
    var frames: [Data] = []
    var index = 0
    var firstRecord: Int64 = 1
    while position < file.size || !frames.isEmpty {
      if position < file.size {
        var piece = try file.readPiece(at: position, maxLength: 1 << 20)
        position += Int64(piece.readableBytes)
        buffer.writeBuffer(&piece)
      }
      while let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self),
        buffer.readableBytes >= 4 + Int(length)
      {
        buffer.moveReaderIndex(forwardBy: 4)
        frames.append(Data(buffer.readBytes(length: Int(length)) ?? []))
        if frames.count == self.chunkRecords { break }
      }
      buffer.discardReadBytes()
      if frames.count == self.chunkRecords || position >= file.size {
        guard !frames.isEmpty else { break }
        try await body(.typed(columns), UploadChunk(index: index, firstRecord: firstRecord, payload: .frames(frames)))
        index += 1
        firstRecord += Int64(frames.count)
        frames.removeAll(keepingCapacity: true)
      }
    }
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
    /// Serialised record-batch rows.
    case frames([Data])

    /// The chunk's bytes, for text chunks.
    var text: ByteBuffer? {
      if case .text(let bytes, _, _) = self { bytes } else { nil }
    }
  }
}
