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

  @Flag(help: "Connect with TLS, trusting the system's root certificates (implied by --ca-cert). [env: SPECTRA_TLS=1]")
  var tls = false

  @Option(help: "PEM certificates to trust for the server's TLS certificate. [env: SPECTRA_CA_CERT]")
  var caCert: String?

  @Option(help: "PEM client certificate for mTLS, with --client-key. [env: SPECTRA_CLIENT_CERT]")
  var clientCert: String?

  @Option(help: "PEM private key of --client-cert. [env: SPECTRA_CLIENT_KEY]")
  var clientKey: String?

  @Flag(help: "Print no progress and no summary; the exit status tells the outcome.")
  var quiet = false

  @Flag(help: "Print the outcome as JSON on standard output (for scripts).")
  var json = false

  func validate() throws {
    _ = try ServerAddress(self.server)
    guard self.resolvedToken != nil else {
      throw ValidationError("no token: pass --token or set SPECTRA_TOKEN")
    }
    let (certificate, key) = (self.setting(self.clientCert, "SPECTRA_CLIENT_CERT"), self.setting(self.clientKey, "SPECTRA_CLIENT_KEY"))
    guard (certificate == nil) == (key == nil) else {
      throw ValidationError("--client-cert and --client-key go together: give both or neither")
    }
    for (flag, path) in [("--ca-cert", self.setting(self.caCert, "SPECTRA_CA_CERT")), ("--client-cert", certificate), ("--client-key", key)] {
      if let path, !FileManager.default.isReadableFile(atPath: path) {
        throw ValidationError("\(flag) \(path) cannot be read")
      }
    }
  }

  /// How to protect the connection: TLS when `--tls`, `--ca-cert` or a client certificate (or
  /// their environment variables) says so.
  var security: ClientSecurity {
    let trusted = self.setting(self.caCert, "SPECTRA_CA_CERT")
    let certificate = self.setting(self.clientCert, "SPECTRA_CLIENT_CERT")
    let key = self.setting(self.clientKey, "SPECTRA_CLIENT_KEY")
    let tls = self.tls || ProcessInfo.processInfo.environment["SPECTRA_TLS"] == "1"
    guard tls || trusted != nil || certificate != nil else { return .plaintext }
    return .tls(trustedCertificates: trusted, certificate: certificate, key: key)
  }

  /// A flag's value, else its environment variable's when set and not empty.
  private func setting(_ value: String?, _ variable: String) -> String? {
    value ?? ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// `--token`, else `SPECTRA_TOKEN`.
  var resolvedToken: String? {
    self.setting(self.token, "SPECTRA_TOKEN")
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
        security: self.security,
        body
      )
    } catch let error as RPCError {
      throw ClientError(error, server: self.server, job: job)
    }
  }
}
