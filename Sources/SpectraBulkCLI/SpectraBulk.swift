internal import ArgumentParser

/// `spectra-bulk`: the server and, in time, its client commands.
@main
struct SpectraBulk: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "spectra-bulk",
    abstract: "Bulk data jobs on a warehouse over gRPC and REST.",
    subcommands: [Serve.self]
  )
}
