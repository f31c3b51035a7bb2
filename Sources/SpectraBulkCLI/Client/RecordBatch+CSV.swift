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
      writer.write(row.values.map(\.text), into: &buffer)
    }
    return Data(buffer.readableBytesView)
  }
}

extension Spectra_Bulk_V1_Value {
  /// The value as a CSV field.
  var text: String {
    switch self.kind {
    case .none, .nullValue: ""
    case .stringValue(let text): text
    case .intValue(let integer): String(integer)
    case .doubleValue(let double): String(double)
    case .boolValue(let bool): bool ? "true" : "false"
    case .bytesValue(let bytes): "\\x" + bytes.map { String(format: "%02x", $0) }.joined()
    case .timestampValue(let timestamp): FieldValue.iso8601(timestamp.date)
    }
  }
}
