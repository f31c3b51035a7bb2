internal import ArgumentParser
internal import BulkProto

/// `spectra-bulk job ID`: one job with its counters.
struct ShowJob: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "job", abstract: "Show a job with its counters.")

  @Argument(help: "The job id (bulk-job-…).")
  var id: String

  @OptionGroup
  var options: ClientOptions

  func run() async throws {
    let job = try await self.options.withClient(job: self.id) { client in
      try await RetryPolicy().run { try await client.job(self.id) }
    }
    if self.options.json {
      print(try job.jsonText())
    } else if !self.options.quiet {
      print(job.details)
    }
  }
}
