internal import ArgumentParser
internal import BulkProto

/// `spectra-bulk watch ID`: follows a job to its end with a progress bar.
struct Watch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Follow a job until it finishes, showing its progress.",
    discussion: "Exit status: 0 when every record succeeded, 2 when some failed, 1 when the job failed or was aborted."
  )

  @Argument(help: "The job id (bulk-job-…).")
  var id: String

  @OptionGroup
  var options: ClientOptions

  func run() async throws {
    let progress = ProgressDisplay(style: self.options.progressStyle)
    let job = try await self.options.withClient(job: self.id) { client in
      try await client.follow(self.id, retry: RetryPolicy(), progress: progress)
    }
    if self.options.json {
      print(try job.jsonText())
    } else if !self.options.quiet {
      print(job.details)
    }
    if job.exitStatus != 0 { throw ExitCode(job.exitStatus) }
  }
}
