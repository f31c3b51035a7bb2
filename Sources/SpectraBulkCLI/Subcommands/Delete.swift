internal import ArgumentParser
internal import BulkGRPCClient

/// `spectra-bulk delete ID`: removes a finished job with its upload and results.
struct Delete: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Delete a finished job with its upload and results."
  )

  @OptionGroup
  var job: JobArguments

  func run() async throws {
    try await self.job.options.withClient(job: self.job.id) { client in
      try await RetryPolicy().run("deleting \(self.job.id)", notes: self.job.options.notes) {
        try await client.delete(self.job.id)
      }
    }
    if self.job.options.json {
      print(#"{"deleted":true,"job_id":"\#(self.job.id)"}"#)
    } else if !self.job.options.quiet {
      print("job \(self.job.id) deleted")
    }
  }
}
