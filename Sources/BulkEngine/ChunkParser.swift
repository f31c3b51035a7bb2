internal import BulkCore
internal import BulkFormats
internal import Foundation
internal import NIOCore

/// Reads the records of a chunk with every field, in the job's format.
///
/// A chunk is parsed in one pass; when that pass meets a malformed record, the chunk is parsed
/// again record by record, so that only the malformed records fail and the others still load.
struct ChunkParser: Sendable {
  let job: Job
  /// The upload's columns.
  let columns: [String]
  private let header: ByteBuffer
  private let delimiter: UInt8
  /// A record with a longer value fails with `VALUE_TOO_LARGE` (`Limits.maxValueBytes`).
  private let maxValueBytes: Int

  /// A parser for the upload whose columns the reader found; JSON uploads take their columns from
  /// the first record's keys.
  init(job: Job, columns: UploadReader.Columns, firstChunk: UploadChunk, context: EngineContext) throws {
    self.job = job
    self.delimiter = job.columnDelimiter.asciiValue ?? UInt8(ascii: ",")
    self.maxValueBytes = context.limits.maxValueBytes
    switch columns {
    case .csv(let header):
      self.header = header
      var reader = CSVHeaderReader(delimiter: self.delimiter, maxColumns: context.limits.maxColumns)
      do {
        self.columns = try reader.feed(header) ?? reader.finish()
      } catch let error as FormatError {
        throw JobFailure("the CSV header is not valid: \(error.message)")
      }
    case .json:
      self.header = ByteBuffer()
      var keys: [String]?
      if case .text(let bytes, _, let offset) = firstChunk.payload {
        var reader = JSONRecordReader(firstRecord: firstChunk.firstRecord, startOffset: offset)
        do {
          try reader.feed(bytes) { record in
            if keys == nil { keys = record.fields.map(\.key) }
          }
          if keys == nil {
            try reader.finish { record in
              if keys == nil { keys = record.fields.map(\.key) }
            }
          }
        } catch let error as FormatError where keys == nil {
          throw JobFailure("the first JSON record cannot be read: \(error.message)")
        } catch {
          // A later record's fault is that record's failure, found when the chunk is parsed.
        }
      }
      guard let keys, !keys.isEmpty else { throw JobFailure("the first JSON record has no fields") }
      guard keys.count <= context.limits.maxColumns else {
        throw JobFailure(
          "the first JSON record has \(keys.count) fields, more than the \(context.limits.maxColumns) columns allowed (--max-columns)"
        )
      }
      self.columns = keys
    case .typed(let names):
      self.header = ByteBuffer()
      self.columns = names
    }
  }

  /// A CSV chunk whose every record the checks take for `plan`, read without making any value:
  /// where its records lie in its bytes. `nil` when a record needs the full parse: a malformed
  /// one, one that fails a check, one that only `JobPlan.coerce` can judge.
  func plainCSV(_ chunk: UploadChunk, plan: JobPlan) -> PlainCSVChunk? {
    guard self.job.contentType == .csv, case .text(let bytes, let count, _) = chunk.payload else { return nil }
    var records: [Range<Int>] = []
    records.reserveCapacity(count)
    let read = CSVSpanReader.read(bytes, delimiter: self.delimiter, columns: self.columns.count) { record in
      guard plan.acceptsPlainly(record, maxValueBytes: self.maxValueBytes) else { return false }
      records.append(record.start ..< record.start + record.bytes.count)
      return true
    }
    guard read != nil, !records.isEmpty else { return nil }
    return PlainCSVChunk(bytes: bytes, delimiter: self.delimiter, firstRecord: chunk.firstRecord, records: records)
  }

  /// The chunk's records in order.
  func parse(_ chunk: UploadChunk) -> [ParsedRecord] {
    switch chunk.payload {
    case .frames(let frames):
      return frames.enumerated().map { index, frame in
        let number = chunk.firstRecord + Int64(index)
        guard let values = FieldValue.decodeRow(frame) else {
          return ParsedRecord(
            number: number,
            original: .typed([]),
            values: .failure(RecordFailure(code: "INVALID_RECORD", message: "record \(number) cannot be decoded"))
          )
        }
        if let failure = self.oversizedValue(number: number, sizes: values.lazy.map(\.byteCount)) {
          return ParsedRecord(number: number, original: .typed(values), values: .failure(failure))
        }
        return ParsedRecord(number: number, original: .typed(values), values: .values(values))
      }
    case .text(let bytes, _, let offset):
      if let records = try? self.parseText(bytes, firstRecord: chunk.firstRecord, offset: offset, chunkOffset: offset) {
        return records
      }
      return self.parseEachRecord(bytes, firstRecord: chunk.firstRecord, offset: offset)
    }
  }

  /// One pass over the whole chunk; throws at the first malformed record.
  /// - Parameter chunkOffset: where the chunk starts in the upload, to place each CSV record's
  ///   bytes in it.
  private func parseText(
    _ bytes: ByteBuffer,
    firstRecord: Int64,
    offset: Int64,
    chunkOffset: Int64
  ) throws -> [ParsedRecord] {
    var records: [ParsedRecord] = []
    switch self.job.contentType {
    case .csv:
      var reader = CSVRecordReader(
        delimiter: self.delimiter,
        header: self.columns,
        firstRecord: firstRecord,
        startOffset: offset
      )
      try reader.feed(bytes) { records.append(self.record($0, chunkOffset: chunkOffset)) }
      try reader.finish { records.append(self.record($0, chunkOffset: chunkOffset)) }
    case .json, .recordBatch:
      var reader = JSONRecordReader(firstRecord: firstRecord, startOffset: offset)
      try reader.feed(bytes) { records.append(self.record($0)) }
      try reader.finish { records.append(self.record($0)) }
    }
    return records
  }

  /// Cuts the chunk into single records without parsing fields, then parses each on its own, so
  /// a malformed record fails alone.
  private func parseEachRecord(_ bytes: ByteBuffer, firstRecord: Int64, offset: Int64) -> [ParsedRecord] {
    var splitter = RecordSplitter(
      format: self.job.contentType,
      delimiter: self.delimiter,
      maxRecords: 1,
      maxBytes: Int.max
    )
    var pieces: [RecordChunk] = []
    var tail: ByteBuffer?
    do {
      if self.job.contentType == .csv {
        try splitter.feed(self.header) { pieces.append($0) }
      }
      try splitter.feed(bytes) { pieces.append($0) }
      try splitter.finish { pieces.append($0) }
    } catch {
      // What the splitter could not cut (an unclosed quote at the end) fails as one record.
      let consumed = pieces.reduce(0) { $0 + $1.bytes.readableBytes }
      tail = bytes.getSlice(at: bytes.readerIndex + consumed, length: bytes.readableBytes - consumed)
    }
    if let tail, tail.readableBytes > 0 {
      let consumed = pieces.reduce(0) { $0 + $1.bytes.readableBytes }
      pieces.append(
        RecordChunk(
          index: pieces.count,
          firstRecord: Int64(pieces.count + 1),
          recordCount: 1,
          offset: Int64(self.header.readableBytes + consumed),
          bytes: tail
        )
      )
    }
    var records: [ParsedRecord] = []
    for piece in pieces {
      let number = firstRecord + piece.firstRecord - 1
      let pieceOffset = offset + piece.offset - Int64(self.header.readableBytes)
      do {
        let parsed = try self.parseText(piece.bytes, firstRecord: number, offset: pieceOffset, chunkOffset: offset)
        records.append(contentsOf: parsed)
      } catch {
        let text = String(decoding: piece.bytes.readableBytesView, as: UTF8.self)
          .trimmingCharacters(in: .newlines)
        let message = (error as? FormatError)?.message ?? "\(error)"
        records.append(
          ParsedRecord(
            number: number,
            original: self.job.contentType == .csv ? .csv([text]) : .json([("_raw", .string(text))]),
            values: .failure(RecordFailure(code: "MALFORMED_RECORD", message: message))
          )
        )
      }
    }
    return records
  }

  private func record(_ record: CSVRecord, chunkOffset: Int64) -> ParsedRecord {
    let start = Int(record.offset - chunkOffset)
    let failure = self.oversizedValue(number: record.number, sizes: record.fields.lazy.map(\.utf8.count))
    return ParsedRecord(
      number: record.number,
      original: .csv(record.fields),
      values: failure.map { .failure($0) } ?? .fields(record.fields),
      raw: start >= 0 ? start ..< start + record.raw.readableBytes : nil
    )
  }

  /// `VALUE_TOO_LARGE` naming the first value of the record longer than `maxValueBytes`, by its
  /// column; `nil` when none is.
  private func oversizedValue(number: Int64, sizes: some Sequence<Int>) -> RecordFailure? {
    for (index, size) in sizes.enumerated() where size > self.maxValueBytes {
      let column = index < self.columns.count ? "'\(self.columns[index].prefix(64))'" : "\(index + 1)"
      return RecordFailure(
        code: "VALUE_TOO_LARGE",
        message:
          "the value of column \(column) in record \(number) is \(size) bytes, over the limit of \(self.maxValueBytes) bytes (--max-value-bytes)"
      )
    }
    return nil
  }

  private func record(_ record: JSONRecord) -> ParsedRecord {
    var values = [FieldValue](repeating: .null, count: self.columns.count)
    for (key, value) in record.fields {
      guard let index = self.columns.firstIndex(of: key) else {
        return ParsedRecord(
          number: record.number,
          original: .json(record.fields),
          values: .failure(
            RecordFailure(
              code: "INVALID_RECORD",
              message: "record \(record.number) has field '\(key.prefix(64))', which the first record does not have"
            )
          )
        )
      }
      values[index] = Self.fieldValue(value)
    }
    if let failure = self.oversizedValue(number: record.number, sizes: values.lazy.map(\.byteCount)) {
      return ParsedRecord(number: record.number, original: .json(record.fields), values: .failure(failure))
    }
    return ParsedRecord(number: record.number, original: .json(record.fields), values: .values(values))
  }

  static func fieldValue(_ value: JSONValue) -> FieldValue {
    switch value {
    case .null: return .null
    case .bool(let bool): return .bool(bool)
    case .number(let literal): return .number(literal)
    case .string(let string): return .text(string)
    case .array, .object:
      var buffer = ByteBuffer()
      JSONWriter.write(value, into: &buffer)
      return .text(String(buffer: buffer))
    }
  }
}

extension FieldValue {
  /// The bytes of a value as `Limits.maxValueBytes` counts them: the UTF-8 of text and of a
  /// number's literal, the length of bytes, and 8 for the fixed-size kinds.
  fileprivate var byteCount: Int {
    switch self {
    case .text(let text), .number(let text): text.utf8.count
    case .bytes(let bytes): bytes.count
    case .null, .integer, .double, .bool, .timestamp: 8
    }
  }
}

/// A CSV chunk whose records all passed the checks as uploaded (`ChunkParser.plainCSV`).
struct PlainCSVChunk: Sendable {
  /// The chunk's bytes.
  let bytes: ByteBuffer
  let delimiter: UInt8
  /// The number of the first record; the others follow one by one.
  let firstRecord: Int64
  /// Where each record lies in `bytes`, without its line end.
  let records: [Range<Int>]
}
