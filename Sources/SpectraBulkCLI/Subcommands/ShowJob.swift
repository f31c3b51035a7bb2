internal import ArgumentParser
internal import BulkGRPCClient

/// `spectra-bulk job ID`: one job with its counters.
struct ShowJob: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "job", abstract: "Show a job with its counters.")

  @OptionGroup
  var job: JobArguments

  func run() async throws {
    let job = try await self.job.options.withClient(job: self.job.id) { client in
      try await RetryPolicy().run("reading \(self.job.id)", notes: self.job.options.notes) {
        try await client.job(self.job.id)
      }
    }
    try self.job.report(job, text: job.details)
  }
}
