internal import ArgumentParser
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import SwiftProtobuf

/// `spectra-bulk jobs [--state S]`: the tenant's jobs, newest first.
struct Jobs: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the tenant's jobs, newest first.")

  @Option(help: "Only jobs in this state: Open, UploadComplete, InProgress, JobComplete, Failed or Aborted.")
  var state: String?

  @Option(help: "At most this many jobs; 0 lists them all.")
  var limit: Int = 25

  @OptionGroup
  var options: ClientOptions

  func validate() throws {
    if let state = self.state, Spectra_Bulk_V1_JobState(argument: state) == nil {
      throw ValidationError("--state \(state) is not a job state")
    }
    guard self.limit >= 0 else { throw ValidationError("--limit must not be negative") }
  }

  func run() async throws {
    let state = self.state.flatMap(Spectra_Bulk_V1_JobState.init(argument:)) ?? .unspecified
    let jobs = try await self.options.withClient { client in
      var jobs: [Spectra_Bulk_V1_Job] = []
      var token = ""
      repeat {
        let remaining = self.limit == 0 ? 1000 : min(1000, self.limit - jobs.count)
        let page = try await RetryPolicy().run("listing jobs", notes: self.options.notes) {
          try await client.list(
            .with {
              $0.state = state
              $0.limit = Int32(remaining)
              $0.pageToken = token
            }
          )
        }
        jobs += page.jobs
        token = page.nextPageToken
      } while !token.isEmpty && (self.limit == 0 || jobs.count < self.limit)
      return jobs
    }
    if self.options.json {
      print("[" + (try jobs.map { try $0.jsonText() }.joined(separator: ",")) + "]")
      return
    }
    guard !self.options.quiet else { return }
    let rows =
      [["JOB", "STATE", "OPERATION", "OBJECT", "PROCESSED", "FAILED", "CREATED"]]
      + jobs.map { job in
        [
          job.jobID, job.state.displayName, job.operation.displayName, job.object,
          String(job.numberRecordsProcessed), String(job.numberRecordsFailed),
          ISO8601DateFormatter().string(from: job.createdAt.date),
        ]
      }
    let widths = (0 ..< rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
      print(
        zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
          .trimmingCharacters(in: .whitespaces)
      )
    }
  }
}
