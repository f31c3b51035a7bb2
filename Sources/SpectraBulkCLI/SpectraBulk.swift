internal import ArgumentParser

/// `spectra-bulk`: the server, and the client commands that load files and export queries over
/// gRPC.
@main
struct SpectraBulk: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "spectra-bulk",
    abstract: "Bulk data jobs on a warehouse over gRPC and REST.",
    subcommands: [
      Serve.self, Load.self, Query.self, Jobs.self, ShowJob.self, Watch.self, Abort.self, Results.self, Delete.self,
    ]
  )
}
