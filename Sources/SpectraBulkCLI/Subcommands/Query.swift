internal import ArgumentParser
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import SwiftProtobuf

/// `spectra-bulk query "SELECT …" --object T [-o OUT]`: runs a query job and streams its rows to
/// a file or standard output.
struct Query: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a query job and write its rows to a file or standard output.",
    discussion: "Progress and the summary go to standard error when the rows go to standard output."
  )

  @Argument(help: "The query (a SELECT on the tenant's tables).")
  var query: String

  @Option(help: "The query's main table.")
  var object: String

  @Option(name: [.customShort("o"), .customLong("output")], help: "Write the rows here instead of standard output.")
  var output: String?

  @Option(help: "The format of the rows.")
  var format: FileFormat = .csv

  @Option(help: "Records fetched per call (each call can be resumed from its locator); 0 fetches all at once.")
  var pageRecords: Int64 = 100_000

  @OptionGroup
  var options: ClientOptions

  func run() async throws {
    let progress = ProgressDisplay(style: self.options.progressStyle)
    let retry = RetryPolicy()
    let start = ContinuousClock.now
    let request = Spectra_Bulk_V1_CreateJobRequest.with {
      $0.operation = .query
      $0.object = self.object
      $0.query = self.query
      $0.contentType = self.format.contentType
      $0.requestID = "spectra-bulk-query-\(UUID().uuidString)"
    }
    let (job, rows) = try await self.options.withClient { client in
      let job = try await retry.run("creating the job", notes: progress) { try await client.create(request) }
      do {
        let done = try await client.closeAndFollow(job.jobID, retry: retry, progress: progress)
        guard done.state == .jobComplete else {
          let reason = done.errorMessage.isEmpty ? "" : ": \(done.errorMessage)"
          throw ClientError("query job \(done.jobID) ended \(done.state.displayName)\(reason)")
        }
        let rows = try await ResultFile(path: self.output).download(
          .query,
          of: done,
          with: client,
          pageRecords: self.pageRecords,
          retry: retry,
          progress: progress
        )
        return (done, rows)
      } catch let error as RPCError {
        throw ClientError(error, server: self.options.server, job: job.jobID)
      }
    }
    let seconds = ProgressDisplay.seconds(ContinuousClock.now - start)
    if self.options.json {
      let summary: [String: Any] = [
        "job_id": job.jobID, "state": job.state.displayName, "rows": rows, "output": self.output ?? "-",
        "seconds": seconds,
      ]
      let text = String(
        decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .withoutEscapingSlashes]),
        as: UTF8.self
      )
      self.report(text)
    } else if !self.options.quiet {
      self.report(
        "query job \(job.jobID): \(rows) rows written to \(self.output ?? "standard output")"
          + String(format: " (%.1f s)", seconds)
      )
    }
  }

  /// The summary goes to standard output unless the rows do.
  private func report(_ line: String) {
    if self.output == nil {
      FileHandle.standardError.write(Data((line + "\n").utf8))
    } else {
      print(line)
    }
  }
}
