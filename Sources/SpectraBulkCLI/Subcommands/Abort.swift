internal import ArgumentParser
internal import BulkProto

/// `spectra-bulk abort ID`: aborts a job that has not finished.
struct Abort: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Abort a job; records not yet applied become unprocessed."
  )

  @Argument(help: "The job id (bulk-job-…).")
  var id: String

  @OptionGroup
  var options: ClientOptions

  func run() async throws {
    let job = try await self.options.withClient(job: self.id) { client in
      try await RetryPolicy().run { try await client.update(self.id, to: .aborted) }
    }
    if self.options.json {
      print(try job.jsonText())
    } else if !self.options.quiet {
      print("job \(job.jobID) \(job.state.displayName)")
    }
  }
}
