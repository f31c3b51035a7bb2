internal import ArgumentParser
internal import BulkGRPCClient

/// `spectra-bulk watch ID`: follows a job to its end with a progress bar.
struct Watch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Follow a job until it finishes, showing its progress.",
    discussion: "Exit status: 0 when every record succeeded, 2 when some failed, 1 when the job failed or was aborted."
  )

  @OptionGroup
  var job: JobArguments

  func run() async throws {
    let progress = ProgressDisplay(style: self.job.options.progressStyle)
    let job = try await self.job.options.withClient(job: self.job.id) { client in
      try await client.follow(self.job.id, retry: RetryPolicy(), progress: progress)
    }
    try self.job.report(job, text: job.details)
    if job.exitStatus != 0 { throw ExitCode(job.exitStatus) }
  }
}
