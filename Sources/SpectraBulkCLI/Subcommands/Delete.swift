internal import ArgumentParser

/// `spectra-bulk delete ID`: removes a finished job with its upload and results.
struct Delete: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Delete a finished job with its upload and results."
  )

  @Argument(help: "The job id (bulk-job-…).")
  var id: String

  @OptionGroup
  var options: ClientOptions

  func run() async throws {
    try await self.options.withClient(job: self.id) { client in
      try await RetryPolicy().run { try await client.delete(self.id) }
    }
    if self.options.json {
      print(#"{"deleted":true,"job_id":"\#(self.id)"}"#)
    } else if !self.options.quiet {
      print("job \(self.id) deleted")
    }
  }
}
