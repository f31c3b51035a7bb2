package import BulkProto
internal import GRPCCore

extension BulkClient {
  /// Follows job `id` with `WatchJob` until it is terminal, showing its progress; a watch that
  /// breaks (the connection, a server restart) is opened again with backoff.
  package func follow(
    _ id: String,
    retry: RetryPolicy,
    progress: any ClientProgress
  ) async throws -> Spectra_Bulk_V1_Job {
    defer { progress.watchEnded() }
    return try await retry.run("the watch of \(id)", notes: progress) {
      if let last = try await self.watch(id, onUpdate: progress.processing), last.isTerminal {
        return last
      }
      // The stream ended before a terminal state: the server is going away.
      throw RPCError(code: .unavailable, message: "the watch ended before the job finished")
    }
  }

  /// Closes job `id` (`UploadComplete`: nothing more will be uploaded) and follows it until it
  /// is terminal, retrying the close like any call.
  ///
  /// The watch opens beside the close instead of after its answer: the watch's first message is
  /// the job as stored whenever it comes, so it misses nothing, and its round trip overlaps the
  /// close's instead of following it. When the close fails, the watch is cancelled and the
  /// close's error thrown.
  package func closeAndFollow(
    _ id: String,
    retry: RetryPolicy,
    progress: any ClientProgress
  ) async throws -> Spectra_Bulk_V1_Job {
    // A failed close leaves this scope first, which cancels the watch and waits for it.
    async let followed = self.follow(id, retry: retry, progress: AfterClose(base: progress))
    _ = try await retry.run("closing \(id)", notes: progress) {
      try await self.update(id, to: .uploadComplete)
    }
    return try await followed
  }
}

/// The progress of a job watched while it is closed: the watch's first message may show it still
/// `Open`, from before the close landed, which is no news to whoever closed it.
private struct AfterClose: ClientProgress {
  let base: any ClientProgress

  func uploading(_ name: String, sent: Int64, total: Int64) {
    self.base.uploading(name, sent: sent, total: total)
  }

  func uploadEnded() {
    self.base.uploadEnded()
  }

  func processing(_ job: Spectra_Bulk_V1_Job) {
    if job.state != .open { self.base.processing(job) }
  }

  func watchEnded() {
    self.base.watchEnded()
  }

  func note(_ message: String) {
    self.base.note(message)
  }
}
