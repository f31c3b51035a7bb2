package import BulkProto

/// Where the client reports what it is doing while it uploads, follows and downloads a job: how
/// far the upload and the job have come, and notes on retries and fallbacks. `spectra-bulk`
/// draws it on standard error.
package protocol ClientProgress: Sendable {
  /// The upload of `name` reached `sent` of `total` bytes.
  func uploading(_ name: String, sent: Int64, total: Int64)
  /// The upload ended (or broke): the next upload session starts afresh.
  func uploadEnded()
  /// The job as `WatchJob` last reported it.
  func processing(_ job: Spectra_Bulk_V1_Job)
  /// The job is no longer followed: it finished, or the watch gave up.
  func watchEnded()
  /// A message between progress reports (a retry, a fallback).
  func note(_ message: String)
}
