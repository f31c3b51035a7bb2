internal import ArgumentParser
internal import BulkGRPCClient
internal import BulkTestSupport
internal import Foundation

/// A `spectra-bulk serve` (the one built beside this program) started for one measurement: free
/// ports, its own data folder, standard error in a log file, and its peak memory and processor
/// time read from `/proc`.
final class BenchServer {
  /// The gRPC port its `grpc listening on` line announced.
  let grpcPort: Int
  private let process: ServerProcess
  private let log: URL

  /// Starts `spectra-bulk serve` with `arguments` after the port flags and waits until gRPC
  /// listens; `program` is another `spectra-bulk` binary to run instead of the one built beside.
  ///
  /// - Throws: when the server exits before listening; the error carries the end of its log.
  init(arguments: [String], environment: [String: String] = [:], log: URL, program: String? = nil) throws {
    self.log = log
    self.process = try ServerProcess(
      arguments: ["--grpc-port", "0", "--http-port", "0"] + arguments,
      environment: environment,
      errorLog: log.path,
      program: program
    )
    do {
      self.grpcPort = try self.process.awaitGRPCPort()
    } catch {
      throw ValidationError("\(error)\n\(Self.tail(of: log))")
    }
  }

  /// The process's peak resident memory so far (`VmHWM`), in bytes; 0 once it has exited.
  var peakRSS: Int {
    guard let status = try? String(contentsOfFile: "/proc/\(self.process.pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
      let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return kilobytes << 10
  }

  /// The processor time the process has used so far (user and system), in seconds; 0 once it
  /// has exited.
  var cpuSeconds: Double {
    ProcessorTime.seconds(of: self.process.pid)
  }

  /// The last lines of the server's log, for error messages.
  var logTail: String {
    Self.tail(of: self.log)
  }

  /// Calls `body` with a client of this server authenticated with `token`, over a connection
  /// sized for bulk streams that compresses nothing, as `psql` and `sqlite3` do not.
  func withClient<Result: Sendable>(
    token: String,
    _ body: (BulkClient) async throws -> Result
  ) async throws -> Result {
    try await BulkClient.connect(host: "127.0.0.1", port: self.grpcPort, token: token, tenant: nil, gzip: false, body)
  }

  /// Stops the server gracefully (SIGTERM) and waits for it to exit.
  func stop() {
    self.process.stop()
  }

  private static func tail(of log: URL) -> String {
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").suffix(20).joined(separator: "\n")
  }
}
