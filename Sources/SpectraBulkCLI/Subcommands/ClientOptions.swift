internal import ArgumentParser
internal import BulkGRPCClient
internal import Foundation
internal import GRPCCore

/// The options every client command takes: where the server is, who calls, how to report.
struct ClientOptions: ParsableArguments {
  @Option(help: "The server's gRPC address, HOST:PORT.")
  var server: String = "127.0.0.1:50051"

  @Option(help: "Bearer token of the tenant. [env: SPECTRA_TOKEN]")
  var token: String?

  @Option(help: "Tenant id, sent as x-tenant-id; it must be the token's tenant.")
  var tenant: String?

  @Flag(help: "Print no progress and no summary; the exit status tells the outcome.")
  var quiet = false

  @Flag(help: "Print the outcome as JSON on standard output (for scripts).")
  var json = false

  func validate() throws {
    _ = try ServerAddress(self.server)
    guard self.resolvedToken != nil else {
      throw ValidationError("no token: pass --token or set SPECTRA_TOKEN")
    }
  }

  /// `--token`, else `SPECTRA_TOKEN`.
  var resolvedToken: String? {
    self.token ?? ProcessInfo.processInfo.environment["SPECTRA_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// How progress is shown on standard error: bars on a terminal, plain lines otherwise, only
  /// retry notes with `--json` into a file or pipe, nothing with `--quiet`.
  var progressStyle: ProgressDisplay.Style {
    if self.quiet { return .silent }
    if isatty(STDERR_FILENO) == 1 { return .bars }
    return self.json ? .notes : .lines
  }

  /// Where the retries of a command without progress of its own are noted.
  var notes: ProgressDisplay {
    ProgressDisplay(style: self.progressStyle)
  }

  /// Connects to the server, runs `body` with the client, and turns a failed call into a
  /// ``ClientError`` that names `job` and the server.
  func withClient<T: Sendable>(job: String? = nil, _ body: (BulkClient) async throws -> T) async throws -> T {
    let address = try ServerAddress(self.server)
    do {
      return try await BulkClient.connect(
        host: address.host,
        port: address.port,
        token: self.resolvedToken ?? "",
        tenant: self.tenant,
        body
      )
    } catch let error as RPCError {
      throw ClientError(error, server: self.server, job: job)
    }
  }
}
