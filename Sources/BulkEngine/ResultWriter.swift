internal import BulkCore
internal import BulkFormats
internal import Foundation
internal import NIOCore

/// Encodes a chunk's records into the job's three result sets, in the job's format:
///
/// - successful: `_record`, `_created`, then the original fields;
/// - failed: `_record`, `_error` (`CODE: reason`), then the original fields;
/// - unprocessed: `_record`, then the original fields.
///
/// CSV jobs get CSV with the job's delimiter; JSON jobs one object per record with the same keys
/// first. Record-batch jobs keep typed rows: each record is a length-delimited frame of
/// `FieldValue.encodeRow`, turned into `RecordBatch` rows (and CSV for REST) when read.
struct ResultWriter {
  let job: Job
  let columns: [String]
  let results: ResultStore
  /// The chunk's uploaded bytes, which CSV results repeat record by record (`ParsedRecord.raw`).
  var source: ByteBuffer?
  /// Where `source` starts in the stored upload, when the upload holds it as sent (CSV, not
  /// gzip): successful rows then refer to it (`UploadRows`) instead of being copied.
  var uploadOffset: Int64?

  /// What a result set puts between `_record` and the original fields.
  private enum Lead {
    case none
    case created(Bool)
    case error(String)

    /// The column the lead adds (`_created` or `_error`) and its value; `nil` for `none`.
    var column: (name: String, value: JSONValue)? {
      switch self {
      case .none: nil
      case .created(let created): ("_created", .bool(created))
      case .error(let error): ("_error", .string(error))
      }
    }
  }

  /// About the bytes of a chunk's result file: its records as uploaded, with room for a record
  /// number, a lead (`_created`, or a short `_error`) and an index entry each, and the header.
  static func estimatedBytes(of chunk: UploadChunk, records: Int) -> Int64 {
    let bytes =
      switch chunk.payload {
      case .text(let text, _, _): text.readableBytes
      case .frames(let frames): frames.reduce(0) { $0 + $1.count + 4 }
      }
    return Int64(bytes) + 64 * Int64(records) + 256
  }

  /// Writes a processed chunk: each record with its outcome. The file is held to the free-disk
  /// floor only: `ChunkTask` took its room against the tenant's quota before the chunk was
  /// applied, so a committed chunk always gets its results.
  func write(chunk: Int, records: [ParsedRecord], outcomes: [RecordOutcome]) async throws {
    var successful = EncodedRecords()
    var failed = EncodedRecords()
    var successfulRows = self.uploadRows(records, outcomes)
    if successfulRows == nil {
      // Most records succeed: room for all of them, as uploaded, with a number and a lead each.
      successful.starts.reserveCapacity(records.count)
      successful.bytes.reserveCapacity((self.source?.readableBytes ?? 0) + records.count * 16)
    }
    self.withSource { source in
      for index in records.indices {
        switch outcomes[index] {
        case .succeeded(let created):
          if successfulRows != nil, let raw = records[index].raw {
            successfulRows?.append(number: records[index].number, range: raw, created: created)
          } else {
            self.append(records, index, lead: .created(created), source: source, to: &successful)
          }
        case .failed(let code, let message):
          self.append(records, index, lead: .error("\(code): \(message)"), source: source, to: &failed)
        }
      }
    }
    try await self.results.writeChunk(
      of: self.job,
      chunk: chunk,
      sets: [.successful: successful, .failed: failed],
      successfulRows: successfulRows,
      admission: .floorOnly
    )
  }

  /// Writes a chunk whose records were all applied as uploaded (`ChunkParser.plainCSV`), each with
  /// its outcome: CSV rows as `write(chunk:records:outcomes:)` writes them.
  func write(chunk: Int, plain: PlainCSVChunk, outcomes: [RecordOutcome]) async throws {
    var rows = self.uploadRows(referring: plain.records, count: plain.records.count)
    var successful = EncodedRecords()
    var failed = EncodedRecords()
    if rows == nil {
      successful.starts.reserveCapacity(plain.records.count)
      successful.bytes.reserveCapacity(plain.bytes.readableBytes + plain.records.count * 16)
    }
    plain.bytes.withUnsafeReadableBytes { source in
      for (index, range) in plain.records.enumerated() {
        let number = plain.firstRecord + Int64(index)
        let raw = UnsafeRawBufferPointer(rebasing: source[range])
        switch outcomes[index] {
        case .succeeded(let created) where rows != nil:
          rows?.append(number: number, range: range, created: created)
        case .succeeded(let created):
          successful.starts.append(successful.bytes.writerIndex)
          self.writeCSV(number: number, lead: .created(created), raw: raw, into: &successful.bytes)
        case .failed(let code, let message):
          failed.starts.append(failed.bytes.writerIndex)
          self.writeCSV(number: number, lead: .error("\(code): \(message)"), raw: raw, into: &failed.bytes)
        }
      }
    }
    try await self.results.writeChunk(
      of: self.job,
      chunk: chunk,
      sets: [.successful: successful, .failed: failed],
      successfulRows: rows,
      admission: .floorOnly
    )
  }

  /// Empty successful rows of the upload, when every successful record can refer to its bytes
  /// there; `nil` when they are to be copied (not CSV stored as sent, or a record too long).
  private func uploadRows(_ records: [ParsedRecord], _ outcomes: [RecordOutcome]) -> UploadRows? {
    let successful = records.indices.lazy.filter {
      if case .succeeded = outcomes[$0] { true } else { false }
    }
    return self.uploadRows(referring: successful.map { records[$0].raw }, count: records.count)
  }

  /// Empty successful rows of the upload for records at `ranges` of the chunk (`nil` for one that
  /// cannot be placed), with room for `count`; `nil` when the records are to be copied.
  private func uploadRows(referring ranges: some Sequence<Range<Int>?>, count: Int) -> UploadRows? {
    guard self.job.contentType == .csv, let uploadOffset = self.uploadOffset, let source = self.source else {
      return nil
    }
    for range in ranges {
      guard let range, range.upperBound <= source.readableBytes,
        UploadRows.canRefer(start: range.lowerBound, length: range.count)
      else { return nil }
    }
    return UploadRows(
      source: UploadRows.Source(offset: uploadOffset, length: source.readableBytes, delimiter: Self.delimiter(self.job)),
      capacity: count
    )
  }

  /// Writes a chunk that was not applied: every record is unprocessed. It is held to the
  /// free-disk floor only: the job has stopped, and each of its records must stay in a result set.
  func write(chunk: Int, unprocessed records: [ParsedRecord]) async throws {
    var unprocessed = EncodedRecords()
    self.withSource { source in
      for index in records.indices {
        self.append(records, index, lead: .none, source: source, to: &unprocessed)
      }
    }
    try await self.results.writeChunk(
      of: self.job,
      chunk: chunk,
      sets: [.unprocessed: unprocessed],
      admission: .floorOnly
    )
  }

  private func withSource(_ body: (UnsafeRawBufferPointer?) -> Void) {
    guard let source = self.source else { return body(nil) }
    source.withUnsafeReadableBytes { body($0) }
  }

  /// Appends record `index` to a result set. Records are read in place, never copied: a copy
  /// retains each of their parts, once per record.
  private func append(
    _ records: [ParsedRecord],
    _ index: Int,
    lead: Lead,
    source: UnsafeRawBufferPointer?,
    to set: inout EncodedRecords
  ) {
    set.starts.append(set.bytes.writerIndex)
    if self.job.contentType == .csv, let source, let raw = records[index].raw, raw.upperBound <= source.count {
      self.writeCSV(
        number: records[index].number,
        lead: lead,
        raw: UnsafeRawBufferPointer(rebasing: source[raw]),
        into: &set.bytes
      )
    } else {
      self.encode(records[index], lead: lead, into: &set.bytes)
    }
  }

  /// A CSV result row: the record number, the lead, then the uploaded record as it came, in the
  /// job's delimiter. Rows without an error lead are written in one copy: a million of them are
  /// a successful result set.
  private func writeCSV(number: Int64, lead: Lead, raw: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
    let delimiter = Self.delimiter(self.job)
    let created: StaticString?
    switch lead {
    case .none:
      created = nil
    case .created(let wasCreated):
      created = wasCreated ? "true" : "false"
    case .error(let error):
      buffer.writeString(String(number))
      buffer.writeInteger(delimiter)
      // One field, quoted as it needs, its line end turned into the delimiter.
      CSVWriter(delimiter: delimiter).write(CollectionOfOne(error), into: &buffer)
      buffer.moveWriterIndex(to: buffer.writerIndex - 1)
      buffer.writeInteger(delimiter)
      buffer.writeBytes(raw)
      buffer.writeInteger(UInt8(ascii: "\n"))
      return
    }
    var digits = String(number)
    digits.withUTF8 { digits in
      let length = digits.count + 1 + (created.map { $0.utf8CodeUnitCount + 1 } ?? 0) + raw.count + 1
      buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
        Self.copy(UnsafeRawBufferPointer(digits), to: target, at: 0)
        var position = digits.count
        target[position] = delimiter
        position += 1
        if let created {
          Self.copy(
            UnsafeRawBufferPointer(start: created.utf8Start, count: created.utf8CodeUnitCount),
            to: target,
            at: position
          )
          position += created.utf8CodeUnitCount
          target[position] = delimiter
          position += 1
        }
        Self.copy(raw, to: target, at: position)
        position += raw.count
        target[position] = UInt8(ascii: "\n")
        return position + 1
      }
    }
  }

  private static func copy(_ source: UnsafeRawBufferPointer, to target: UnsafeMutableRawBufferPointer, at offset: Int) {
    guard let start = source.baseAddress, !source.isEmpty else { return }
    target.baseAddress!.advanced(by: offset).copyMemory(from: start, byteCount: source.count)
  }

  /// How a result set's document is framed: its CSV header line, or a JSON array.
  static func framing(job: Job, set: ResultSet, columns: [String]) -> ResultFraming {
    switch job.contentType {
    case .recordBatch:
      return ResultFraming(opening: [], separator: [], closing: [], trimsLineEnd: false)
    case .json:
      return ResultFraming(
        opening: Array("[".utf8),
        separator: Array(",".utf8),
        closing: Array("]".utf8),
        trimsLineEnd: true
      )
    case .csv:
      var header = ByteBuffer()
      CSVWriter(delimiter: Self.delimiter(job)).write(Self.leadingColumns(set) + columns, into: &header)
      return ResultFraming(opening: Array(header.readableBytesView), separator: [], closing: [], trimsLineEnd: false)
    }
  }

  /// The columns a result set puts before the upload's.
  static func leadingColumns(_ set: ResultSet) -> [String] {
    switch set {
    case .successful: ["_record", "_created"]
    case .failed: ["_record", "_error"]
    case .unprocessed: ["_record"]
    case .query: []
    }
  }

  private static func delimiter(_ job: Job) -> UInt8 {
    job.contentType == .csv ? job.columnDelimiter.asciiValue ?? UInt8(ascii: ",") : UInt8(ascii: ",")
  }

  private func encode(_ record: ParsedRecord, lead: Lead, into buffer: inout ByteBuffer) {
    switch self.job.contentType {
    case .recordBatch:
      var values: [FieldValue] = [.integer(record.number)]
      if let lead = lead.column { values.append(ChunkParser.fieldValue(lead.value)) }
      if case .typed(let original) = record.original {
        values += original
      }
      let row = FieldValue.encodeRow(values)
      buffer.writeInteger(UInt32(row.count), endianness: .little)
      buffer.writeBytes(row)
    case .json:
      var fields: [(key: String, value: JSONValue)] = [("_record", .number(String(record.number)))]
      if let lead = lead.column { fields.append((key: lead.name, value: lead.value)) }
      fields += self.jsonFields(record.original)
      JSONWriter.write(.object(fields), into: &buffer)
      buffer.writeString("\n")
    case .csv:
      var fields = [String(record.number)]
      if let lead = lead.column { fields.append(ChunkParser.fieldValue(lead.value).csvText) }
      CSVWriter(delimiter: Self.delimiter(self.job)).write(fields + self.csvFields(record.original), into: &buffer)
    }
  }

  private func csvFields(_ original: OriginalRecord) -> [String] {
    switch original {
    case .csv(let fields):
      return fields
    case .json(let members):
      return members.map { ChunkParser.fieldValue($0.value).csvText }
    case .typed(let values):
      return values.map(\.csvText)
    }
  }

  private func jsonFields(_ original: OriginalRecord) -> [(key: String, value: JSONValue)] {
    switch original {
    case .json(let members):
      return members
    case .csv(let fields):
      return zip(self.columns, fields).map { (key: $0, value: .string($1)) }
    case .typed(let values):
      return zip(self.columns, values).map { (key: $0, value: .string($1.csvText)) }
    }
  }
}
