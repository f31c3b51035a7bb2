/// Limits shared by the record readers and the splitter.
package enum RecordLimits {
  /// The longest record accepted unless told otherwise: 64 MiB. A record past it is
  /// `limitExceeded`, which keeps memory bounded even for a quote or object that never closes.
  package static let defaultMaxRecordBytes = 64 << 20
}
