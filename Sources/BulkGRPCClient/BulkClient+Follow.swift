package import BulkProto
internal import GRPCCore

extension BulkClient {
  /// Follows job `id` with `WatchJob` until it is terminal, showing its progress; a watch that
  /// breaks (the connection, a server restart) is opened again with backoff.
  ///
  /// - Parameter shows: which of the watch's messages go to `progress`; all by default.
  package func follow(
    _ id: String,
    retry: RetryPolicy,
    progress: any ClientProgress,
    shows: @escaping @Sendable (Spectra_Bulk_V1_Job) -> Bool = { _ in true }
  ) async throws -> Spectra_Bulk_V1_Job {
    defer { progress.watchEnded() }
    return try await retry.run("the watch of \(id)", notes: progress) {
      let last = try await self.watch(id) { job in
        if shows(job) { progress.processing(job) }
      }
      if let last, last.isTerminal {
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
  /// close's instead of following it. A message showing the job still `Open`, from before the
  /// close landed, is no news to whoever closed it and is not shown. When the close fails, the
  /// watch is cancelled and the close's error thrown.
  package func closeAndFollow(
    _ id: String,
    retry: RetryPolicy,
    progress: any ClientProgress
  ) async throws -> Spectra_Bulk_V1_Job {
    // A failed close leaves this scope first, which cancels the watch and waits for it.
    async let followed = self.follow(id, retry: retry, progress: progress) { $0.state != .open }
    _ = try await retry.run("closing \(id)", notes: progress) {
      try await self.update(id, to: .uploadComplete)
    }
    return try await followed
  }
}

