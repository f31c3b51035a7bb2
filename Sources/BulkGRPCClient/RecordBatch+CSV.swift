internal import BulkCore
internal import BulkFormats
internal import BulkGRPC
internal import BulkProto
internal import Foundation
internal import NIOCore

extension Spectra_Bulk_V1_RecordBatch {
  /// The rows as CSV, after a header line of the columns when `header`: the text the REST surface
  /// serves for the same typed results (bytes as `\x` and hex digits, timestamps in ISO 8601).
  func csv(header: Bool) -> Data {
    var buffer = ByteBuffer()
    let writer = CSVWriter(delimiter: UInt8(ascii: ","))
    if header { writer.write(self.columns, into: &buffer) }
    for row in self.rows {
      writer.write(row.values.lazy.map { FieldValue($0).csvText }, into: &buffer)
    }
    return Data(buffer.readableBytesView)
  }
}
