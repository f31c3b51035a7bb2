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

extension BulkClient {
  /// Uploads `file`, `size` bytes, into job `jobID` as the benchmarks time it: uncompressed, as
  /// `psql` and `sqlite3` read their files, resumed and retried as `spectra-bulk` does, with only
  /// retries noted.
  func upload(_ file: String, size: Int64, into jobID: String) async throws {
    var upload = ResumableUpload(
      client: self,
      jobID: jobID,
      file: file,
      size: size,
      compressed: false,
      retry: RetryPolicy(),
      progress: RetryNotes()
    )
    _ = try await upload.run()
  }
}
