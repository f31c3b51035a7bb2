internal import BulkGRPCClient
internal import BulkProto
internal import Foundation

/// What the benchmark shows while a job runs: only the client's notes on retries and fallbacks,
/// on standard error, since a retried call is part of the time measured.
struct RetryNotes: ClientProgress {
  func uploading(_ name: String, sent: Int64, total: Int64) {}

  func uploadEnded() {}

  func processing(_ job: Spectra_Bulk_V1_Job) {}

  func watchEnded() {}

  func note(_ message: String) {
    FileHandle.standardError.write(Data("  \(message)\n".utf8))
  }
}
