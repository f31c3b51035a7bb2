internal import BulkProto
internal import Foundation
internal import GRPCCore

/// The upload of one file into an `Open` job that survives a broken stream: after a transient
/// failure it asks `GetJob` for `bytes_uploaded` (what the server stored durably) and streams
/// the rest of the file from there, with bounded retries and backoff.
package struct ResumableUpload {
  let client: BulkClient
  let jobID: String
  /// The file's path and size.
  let file: String
  let size: Int64
  /// gRPC gzip message compression; dropped for the rest of the upload if the server refuses it.
  var compressed: Bool
  let retry: RetryPolicy
  let progress: any ClientProgress

  /// What an upload did.
  package struct Outcome {
    /// Bytes the server stored.
    package var bytesUploaded: Int64
    /// Calls broken and resumed.
    package var resumes: Int
    /// Whether messages went gzip-compressed on the wire to the end.
    package var compressed: Bool
  }

  /// An upload of `file`, `size` bytes long, into job `jobID`, its messages gzip-compressed on
  /// the wire when `compressed`.
  package init(
    client: BulkClient,
    jobID: String,
    file: String,
    size: Int64,
    compressed: Bool,
    retry: RetryPolicy,
    progress: any ClientProgress
  ) {
    self.client = client
    self.jobID = jobID
    self.file = file
    self.size = size
    self.compressed = compressed
    self.retry = retry
    self.progress = progress
  }

  /// Streams the file from the job's stored size to its end.
  ///
  /// - Throws: the server's `RPCError` once a failure is not transient or the retries are spent.
  package mutating func run() async throws -> Outcome {
    var offset: Int64 = 0
    var attempt = 0
    var resumes = 0
    let name = URL(fileURLWithPath: self.file).lastPathComponent
    while true {
      do {
        let progress = self.progress
        let size = self.size
        let response = try await self.client.upload(
          jobID: self.jobID,
          file: self.file,
          from: offset,
          compressed: self.compressed
        ) { sent in
          progress.uploading(name, sent: sent, total: size)
        }
        self.progress.uploadEnded()
        if response.bytesUploaded >= self.size || self.size == 0 {
          return Outcome(bytesUploaded: response.bytesUploaded, resumes: resumes, compressed: self.compressed)
        }
        // The server stored less than was sent (it cannot happen with an honest server): resend.
        offset = response.bytesUploaded
      } catch let error as RPCError where error.code == .unimplemented && self.compressed {
        self.progress.uploadEnded()
        self.progress.note("the server refused gzip-compressed messages (\(error.message)); sending uncompressed")
        self.compressed = false
        offset = try await self.storedSize()
      } catch let error as RPCError where Self.isResumable(error) && attempt < self.retry.maxRetries {
        self.progress.uploadEnded()
        attempt += 1
        let pause = self.retry.backoff(attempt: attempt)
        self.progress.note("upload of \(self.jobID) interrupted (\(RetryPolicy.reason(error))); retrying in \(pause)")
        try await Task.sleep(for: pause)
        let stored = try await self.storedSize()
        self.progress.note("resuming the upload of \(self.jobID) from byte \(stored) of \(self.size)")
        // Bytes stored since the last failure: the retries count consecutive failures only.
        if stored > offset { attempt = 0 }
        offset = stored
        resumes += 1
      }
    }
  }

  /// `bytes_uploaded` of the job, asked with the same retries.
  private func storedSize() async throws -> Int64 {
    try await self.retry.run("reading the state of \(self.jobID)", notes: self.progress) {
      try await self.client.job(self.jobID).bytesUploaded
    }
  }

  /// Transient failures, and an offset the server says is past its stored size (it lost bytes
  /// it had not acknowledged): both resume from `bytes_uploaded`.
  private static func isResumable(_ error: RPCError) -> Bool {
    RetryPolicy.isTransient(error) || error.code == .outOfRange
  }
}
