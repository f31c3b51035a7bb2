internal import ArgumentParser
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation

/// `spectra-bulk results ID [--set S] [-o OUT]`: one result set of a finished job.
struct Results: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write one result set of a finished job to a file or standard output."
  )

  /// The result sets.
  enum ResultSetName: String, ExpressibleByArgument, CaseIterable {
    case successful, failed, unprocessed, query

    var proto: Spectra_Bulk_V1_ResultSet {
      switch self {
      case .successful: .successful
      case .failed: .failed
      case .unprocessed: .unprocessed
      case .query: .query
      }
    }
  }

  @OptionGroup
  var job: JobArguments

  @Option(help: "The result set; by default query for query jobs, else successful.")
  var set: ResultSetName?

  @Option(name: [.customShort("o"), .customLong("output")], help: "Write here instead of standard output.")
  var output: String?

  @Option(help: "Records fetched per call; 0 fetches all at once.")
  var pageRecords: Int64 = 100_000

  func run() async throws {
    let retry = RetryPolicy()
    let options = self.job.options
    let progress = ProgressDisplay(style: options.progressStyle)
    let records = try await options.withClient(job: self.job.id) { client in
      let job = try await retry.run("reading \(self.job.id)", notes: progress) { try await client.job(self.job.id) }
      return try await ResultFile(path: self.output).download(
        self.set?.proto ?? .unspecified,
        of: job,
        with: client,
        pageRecords: self.pageRecords,
        retry: retry,
        progress: progress
      )
    }
    if let output = self.output, !options.quiet {
      print(
        options.json
          ? #"{"output":"\#(output)","records":\#(records)}"# : "\(records) records written to \(output)"
      )
    }
  }
}
