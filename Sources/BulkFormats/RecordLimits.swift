/// Limits shared by the record readers and the splitter.
package enum RecordLimits {
  /// The longest record accepted unless told otherwise: 64 MiB. A record past it is
  /// `limitExceeded`, which keeps memory bounded even for a quote or object that never closes.
  package static let defaultMaxRecordBytes = 64 << 20
  /// The most columns a CSV header may name unless told otherwise: 4,096, more than a table of
  /// any warehouse here can have.
  package static let defaultMaxColumns = 4096
}
