internal import BulkCore
internal import BulkFormats
internal import BulkProto
internal import Foundation
internal import NIOCore
internal import SwiftProtobuf

extension Spectra_Bulk_V1_RecordBatch {
  /// The rows as CSV, after a header line of the columns when `header`: the text the REST surface
  /// serves for the same typed results (bytes as `\x` and hex digits, timestamps in ISO 8601).
  func csv(header: Bool) -> Data {
    var buffer = ByteBuffer()
    let writer = CSVWriter(delimiter: UInt8(ascii: ","))
    if header { writer.write(self.columns, into: &buffer) }
    for row in self.rows {
      writer.write(row.values.lazy.map(\.fieldValue.csvText), into: &buffer)
    }
    return Data(buffer.readableBytesView)
  }
}

extension Spectra_Bulk_V1_Value {
  /// The value as the server's domain has it, for its CSV text; an unset value is NULL.
  fileprivate var fieldValue: FieldValue {
    switch self.kind {
    case .none, .nullValue: .null
    case .stringValue(let string): .text(string)
    case .intValue(let integer): .integer(integer)
    case .doubleValue(let double): .double(double)
    case .boolValue(let bool): .bool(bool)
    case .bytesValue(let bytes): .bytes(Array(bytes))
    case .timestampValue(let timestamp): .timestamp(timestamp.date)
    }
  }
}
