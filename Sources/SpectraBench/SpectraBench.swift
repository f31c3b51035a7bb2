internal import ArgumentParser

/// `spectra-bench`: benchmark programs that print figures as ratios against a baseline run in the
/// same process.
@main
struct SpectraBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "spectra-bench",
    abstract: "Benchmarks of Spectra Bulk.",
    subcommands: [
      Compare.self, Fleet.self, Formats.self, Instances.self, Load.self, S3.self, Small.self, Stage.self, Upload.self,
    ]
  )
}
