internal import ArgumentParser
internal import BulkProto

/// The arguments of the commands about one job: its id and the client options.
struct JobArguments: ParsableArguments {
  @Argument(help: "The job id (bulk-job-…).")
  var id: String

  @OptionGroup
  var options: ClientOptions

  /// Prints `job` as the proto's JSON with `--json`, else `text` unless `--quiet`.
  func report(_ job: Spectra_Bulk_V1_Job, text: @autoclosure () -> String) throws {
    if self.options.json {
      print(try job.jsonText())
    } else if !self.options.quiet {
      print(text())
    }
  }
}
