internal import BulkCore
internal import BulkFormats
internal import BulkPostgres
internal import BulkProto
internal import Foundation
internal import NIOCore
internal import SwiftProtobuf

/// The result side of `spectra-bench formats`: records written back as the result files hold
/// them (CSV rows and JSON objects with `_record` and `_created` first), and record batches
/// encoded as protobuf, as the gRPC surface sends typed results.
extension Formats {
  /// Records parsed from the sample, every field as text, for the writers to write.
  struct ResultRecords {
    var columns: [String]
    var rows: [[String]]
  }

  /// Reads the records of the first `limit` bytes of `data`.
  static func resultRecords(_ data: ByteBuffer, limit: Int) throws -> ResultRecords {
    var reader = CSVRecordReader(delimiter: UInt8(ascii: ","))
    var rows: [[String]] = []
    var piece = data.getSlice(at: data.readerIndex, length: min(limit, data.readableBytes))!
    // Whole records only: cut after the last line feed.
    if let end = piece.readableBytesView.lastIndex(of: UInt8(ascii: "\n")) {
      piece = piece.getSlice(at: piece.readerIndex, length: end - piece.readerIndex + 1)!
    }
    try reader.feed(piece) { rows.append($0.fields) }
    try reader.finish { rows.append($0.fields) }
    return ResultRecords(columns: reader.header ?? [], rows: rows)
  }

  /// Writes every record as a successful CSV result row; returns the bytes written.
  static func writeCSVResults(_ records: ResultRecords) -> Int {
    let writer = CSVWriter(delimiter: UInt8(ascii: ","))
    var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
    var bytes = 0
    for (index, row) in records.rows.enumerated() {
      writer.write([String(index + 1), "true"] + row, into: &buffer)
      if buffer.readableBytes >= 1 << 20 {
        bytes += buffer.readableBytes
        buffer.clear()
      }
    }
    return bytes + buffer.readableBytes
  }

  /// Writes every record as a successful JSON result object; returns the bytes written.
  static func writeJSONResults(_ records: ResultRecords) -> Int {
    var writer = JSONWriter()
    var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
    var bytes = 0
    writer.beginArray(into: &buffer)
    for (index, row) in records.rows.enumerated() {
      var members: [(key: String, value: JSONValue)] = [
        ("_record", .number(String(index + 1))), ("_created", .bool(true)),
      ]
      for (column, field) in zip(records.columns, row) {
        members.append((column, .string(field)))
      }
      writer.write(object: members, into: &buffer)
      if buffer.readableBytes >= 1 << 20 {
        bytes += buffer.readableBytes
        buffer.clear()
      }
    }
    writer.endArray(into: &buffer)
    return bytes + buffer.readableBytes
  }

  /// Encodes the records as PostgreSQL `COPY` text in chunks of 10,000, typed as the value checks
  /// leave them (an integer id, texts, a numeric literal); returns the bytes encoded.
  static func writeCopyText(_ records: [ChunkRecord]) -> Int {
    stride(from: 0, to: records.count, by: 10_000).reduce(0) { bytes, start in
      let chunk = Array(records[start ..< min(start + 10_000, records.count)])
      return bytes + CopyRows(records: chunk, numbered: false).bytes.count
    }
  }

  /// The records as the engine hands them to a warehouse.
  static func chunkRecords(_ records: ResultRecords) -> [ChunkRecord] {
    records.rows.enumerated().map { index, row in
      ChunkRecord(
        number: Int64(index + 1),
        values: [.integer(Int64(row[0]) ?? 0), .text(row[1]), .text(row[2]), .text(row[3]), .number(row[4])]
      )
    }
  }

  /// The records as typed `RecordBatch`es of about 1 MiB encoded each: an integer id, three
  /// strings and a double, with `_record` and `_created` first, as typed results carry them.
  static func recordBatches(_ records: ResultRecords) throws -> [Spectra_Bulk_V1_RecordBatch] {
    var batches: [Spectra_Bulk_V1_RecordBatch] = []
    var batch = Spectra_Bulk_V1_RecordBatch()
    batch.columns = ["_record", "_created"] + records.columns
    var size = 0
    for (index, row) in records.rows.enumerated() {
      var message = Spectra_Bulk_V1_Row()
      message.values =
        [Self.value(.intValue(Int64(index + 1))), Self.value(.boolValue(true))]
        + [
          Self.value(.intValue(Int64(row[0]) ?? 0)), Self.value(.stringValue(row[1])),
          Self.value(.stringValue(row[2])), Self.value(.stringValue(row[3])),
          Self.value(.doubleValue(Double(row[4]) ?? 0)),
        ]
      size += (try message.serializedBytes() as [UInt8]).count + 3
      batch.rows.append(message)
      if size >= 1 << 20 {
        batches.append(batch)
        batch.rows.removeAll(keepingCapacity: true)
        size = 0
      }
    }
    if !batch.rows.isEmpty { batches.append(batch) }
    return batches
  }

  /// Encodes every batch.
  static func encode(_ batches: [Spectra_Bulk_V1_RecordBatch]) throws -> [[UInt8]] {
    try batches.map { try $0.serializedBytes() }
  }

  /// Decodes every encoded batch; returns the rows decoded.
  static func decode(_ encoded: [[UInt8]]) throws -> Int {
    try encoded.reduce(0) { $0 + (try Spectra_Bulk_V1_RecordBatch(serializedBytes: $1)).rows.count }
  }

  private static func value(_ kind: Spectra_Bulk_V1_Value.OneOf_Kind) -> Spectra_Bulk_V1_Value {
    var value = Spectra_Bulk_V1_Value()
    value.kind = kind
    return value
  }
}
