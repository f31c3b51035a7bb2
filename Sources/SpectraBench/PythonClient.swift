internal import BulkTestSupport
internal import Foundation

/// A `python3` child process that drives the server through `grpcio` and the stubs generated
/// from `Protos/` (the `spectra.bulk.v1` package that `pip install ./clients/python` installs):
/// the benchmarks' outside client.
enum PythonClient {
  /// Runs `script` with `arguments` (its `sys.argv[1:]`) and returns the fields of the last line
  /// it printed, split at spaces, and all it printed.
  ///
  /// - Throws: `CaseUnavailable` when `python3`, `grpcio` or the stubs are missing.
  static func run(_ script: String, arguments: [String]) async throws -> (fields: [Substring], output: String) {
    let python = try ExternalCommand.program(named: "python3", debianPackage: "python3")
    let probe = try ExternalCommand(
      arguments: [python, "-c", "import grpc, spectra.bulk.v1.bulk_pb2_grpc"],
      directory: "/"
    ).run()
    guard probe.status == 0 else {
      throw CaseUnavailable(
        reason: "python3 cannot import grpcio and the stubs (pip install grpcio ./clients/python): "
          + probe.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
      )
    }
    let command = ExternalCommand(arguments: [python, "-c", script] + arguments, directory: "/")
    // The child is awaited with a blocking waitpid: on a thread of its own.
    let output = try await withCheckedThrowingContinuation { continuation in
      Thread.detachNewThread { continuation.resume(with: Result { try command.check() }) }
    }
    return (output.split(whereSeparator: \.isNewline).last?.split(separator: " ") ?? [], output)
  }
}
