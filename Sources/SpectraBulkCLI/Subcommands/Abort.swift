internal import ArgumentParser
internal import BulkGRPCClient
internal import BulkProto

/// `spectra-bulk abort ID`: aborts a job that has not finished.
struct Abort: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Abort a job; records not yet applied become unprocessed."
  )

  @OptionGroup
  var job: JobArguments

  func run() async throws {
    let job = try await self.job.options.withClient(job: self.job.id) { client in
      try await RetryPolicy().run("aborting \(self.job.id)", notes: self.job.options.notes) {
        try await client.update(self.job.id, to: .aborted)
      }
    }
    try self.job.report(job, text: "job \(job.jobID) \(job.state.displayName)")
  }
}
