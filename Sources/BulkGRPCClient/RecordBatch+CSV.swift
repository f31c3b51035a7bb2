internal import BulkCore
internal import BulkFormats
internal import BulkGRPC
internal import BulkProto
internal import Foundation
internal import NIOCore
internal import SwiftProtobuf

extension Spectra_Bulk_V1_RecordBatch {
  /// The rows as CSV, after a header line of the columns when `header`: the text the REST surface
  /// serves for the same typed results (bytes as `\x` and hex digits, timestamps in ISO 8601).
  ///
  /// Each row goes through the server's own mapping to field values, which reads a row's encoded
  /// bytes, so that both write a value the same way.
  func csv(header: Bool) throws -> Data {
    var buffer = ByteBuffer()
    let writer = CSVWriter(delimiter: UInt8(ascii: ","))
    if header { writer.write(self.columns, into: &buffer) }
    for row in self.rows {
      let values = try RecordBatchRows.decode(row.serializedData())
      writer.write(values.map(\.csvText), into: &buffer)
    }
    return Data(buffer.readableBytesView)
  }
}
