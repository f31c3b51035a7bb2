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
  package func closeAndFollow(
    _ id: String,
    retry: RetryPolicy,
    progress: any ClientProgress
  ) async throws -> Spectra_Bulk_V1_Job {
    _ = try await retry.run("closing \(id)", notes: progress) {
      try await self.update(id, to: .uploadComplete)
    }
    return try await self.follow(id, retry: retry, progress: progress)
  }
}
