internal import ArgumentParser
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import SwiftProtobuf

/// `spectra-bulk load FILE --object T --operation OP`: creates an ingest job, streams the file
/// up (resuming a broken stream), closes the job, follows it to its end, writes the failed and
/// unprocessed records next to the file and prints a summary.
struct Load: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Load a CSV or JSON file into a table.",
    discussion: """
      Writes FILE.failed.csv (the records the warehouse refused, with _error) and \
      FILE.unprocessed.csv (records never applied, after an abort or a job-wide failure) beside \
      FILE when they are not empty (.json for JSON files). Exit status: 0 when every record \
      loaded, 2 when some failed, 1 on an error or a failed job.
      """
  )

  /// The ingest operations.
  enum Operation: String, ExpressibleByArgument, CaseIterable {
    case insert, update, upsert, delete

    var proto: Spectra_Bulk_V1_Operation {
      switch self {
      case .insert: .insert
      case .update: .update
      case .upsert: .upsert
      case .delete: .delete
      }
    }
  }

  @Argument(help: "The CSV or JSON file (gzip-compressed when named .gz or with --gzip).")
  var file: String

  @Option(help: "The table to load into.")
  var object: String

  @Option(help: "What to do with each record.")
  var operation: Operation

  @Option(name: .customLong("external-id"), help: "Key column: required for upsert; the primary key by default.")
  var externalID: String?

  @Flag(help: "The file is gzip-compressed (assumed for a name ending in .gz).")
  var gzip = false

  @Option(help: "The file's format; by default from its name (.csv, .json, .ndjson, .jsonl).")
  var format: FileFormat?

  @Option(help: "CSV column delimiter: COMMA, TAB, PIPE, SEMICOLON, CARET, BACKQUOTE or the character.")
  var delimiter: String?

  @Flag(inversion: .prefixedNo, help: "gzip-compress upload messages on the wire (uncompressed files only).")
  var compression = true

  @OptionGroup
  var options: ClientOptions

  func validate() throws {
    guard FileManager.default.isReadableFile(atPath: self.file) else {
      throw ValidationError("cannot read \(self.file)")
    }
    guard (try? FileManager.default.attributesOfItem(atPath: self.file)[.size] as? NSNumber)?.int64Value ?? 0 > 0 else {
      throw ValidationError("\(self.file) is empty: there is nothing to load")
    }
    _ = try self.fileFormat
  }

  /// The file's format: `--format`, else its name without a `.gz`.
  var fileFormat: FileFormat {
    get throws {
      if let format = self.format { return format }
      let name = self.isGzip ? String(self.file.dropLast(3)) : self.file
      guard let format = FileFormat(fileName: name) else {
        throw ValidationError("cannot tell the format of \(self.file) from its name; pass --format csv or json")
      }
      return format
    }
  }

  var isGzip: Bool { self.gzip || self.file.lowercased().hasSuffix(".gz") }

  func run() async throws {
    let format = try self.fileFormat
    let size = try (FileManager.default.attributesOfItem(atPath: self.file)[.size] as? NSNumber)?.int64Value ?? 0
    let progress = ProgressDisplay(style: self.options.progressStyle)
    let retry = RetryPolicy()
    let start = ContinuousClock.now
    let request = Spectra_Bulk_V1_CreateJobRequest.with {
      $0.operation = self.operation.proto
      $0.object = self.object
      $0.contentType = format.contentType
      $0.compression = self.isGzip ? .gzip : .none
      $0.externalIDField = self.externalID ?? ""
      $0.columnDelimiter = self.delimiter ?? ""
      // Makes a create retried after a lost response return the same job.
      $0.requestID = "spectra-bulk-load-\(UUID().uuidString)"
    }

    let summary = try await self.options.withClient { client in
      let job = try await retry.run("creating the job", notes: progress) { try await client.create(request) }
      do {
        var upload = ResumableUpload(
          client: client,
          jobID: job.jobID,
          file: self.file,
          size: size,
          compressed: self.compression && !self.isGzip,
          retry: retry,
          progress: progress
        )
        let uploaded = try await upload.run()
        let done = try await client.closeAndFollow(job.jobID, retry: retry, progress: progress)

        var summary = LoadSummary(job: done, uploaded: uploaded)
        let beside = BesideFile(file: self.file, format: format, client: client, retry: retry, progress: progress)
        if let (path, _) = try await beside.save(.failed, of: done, when: done.numberRecordsFailed > 0) {
          summary.failedFile = path
        }
        let unfinished = done.state != .jobComplete || done.numberRecordsProcessed < done.numberRecordsTotal
        if let (path, records) = try await beside.save(.unprocessed, of: done, when: unfinished) {
          summary.unprocessedFile = path
          summary.recordsUnprocessed = records
        }
        summary.seconds = ProgressDisplay.seconds(ContinuousClock.now - start)
        return summary
      } catch let error as RPCError {
        var failure = ClientError(error, server: self.options.server, job: job.jobID)
        failure.message += " (job \(job.jobID) is left as it is: see `spectra-bulk job \(job.jobID)`)"
        throw failure
      }
    }

    if self.options.json {
      print(try summary.jsonText())
    } else if !self.options.quiet {
      print(summary.text)
    }
    if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
  }
}

/// The result sets of a load written beside its file: `FILE.failed.csv`, `FILE.unprocessed.json`.
private struct BesideFile {
  let file: String
  let format: FileFormat
  let client: BulkClient
  let retry: BulkGRPCClient.RetryPolicy
  let progress: ProgressDisplay

  /// Downloads `set` of `job` when `wanted` and it has records; returns the file's path and the
  /// record count, or `nil` when there is no file (one left by an earlier load is removed).
  func save(
    _ set: Spectra_Bulk_V1_ResultSet,
    of job: Spectra_Bulk_V1_Job,
    when wanted: Bool
  ) async throws -> (
    String, Int64
  )? {
    let name = set == .failed ? "failed" : "unprocessed"
    let path = "\(self.file).\(name).\(self.format.rawValue)"
    guard wanted else {
      try? FileManager.default.removeItem(atPath: path)
      return nil
    }
    let records = try await ResultFile(path: path).download(
      set,
      of: job,
      with: self.client,
      pageRecords: 0,
      keepEmpty: false,
      retry: self.retry,
      progress: self.progress
    )
    return records > 0 ? (path, records) : nil
  }
}
