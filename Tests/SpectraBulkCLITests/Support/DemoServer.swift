internal import BulkTestSupport
internal import Foundation

/// A `spectra-bulk serve --demo` for one test, in its own data folder: tenant `tenant-123` with
/// the tables `customers` and `sales`.
final class DemoServer {
  /// The development token of `tenant-123`.
  static let token = "cli-test-token"

  let process: ServerProcess
  let grpcPort: Int
  let httpPort: Int
  /// The data folder; also where tests put their files.
  let directory: String

  /// - Parameter arguments: more arguments of `serve`, made from the server's folder.
  init(arguments: (String) throws -> [String] = { _ in [] }) throws {
    self.directory =
      FileManager.default.temporaryDirectory.appendingPathComponent("spectra-cli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
    self.process = try ServerProcess(
      arguments: ["--data-dir", "\(self.directory)/data", "--grpc-port", "0", "--http-port", "0", "--demo"]
        + arguments(self.directory),
      environment: ["SPECTRA_DEV_TOKEN": Self.token]
    )
    self.grpcPort = try self.process.awaitGRPCPort()
    self.httpPort = try self.process.awaitHTTPPort()
  }

  deinit {
    self.process.stop()
    try? FileManager.default.removeItem(atPath: self.directory)
  }

  /// A file `name` in the server's folder with `contents`; returns its path.
  func file(_ name: String, _ contents: String) throws -> String {
    let path = "\(self.directory)/\(name)"
    try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// Runs `spectra-bulk` with `arguments`, against this server unless `port` names another
  /// (a proxy), with the token unless `token` is false.
  func cli(
    _ arguments: [String],
    port: Int? = nil,
    token: Bool = true,
    environment: [String: String] = [:]
  )
    async throws -> CommandResult
  {
    var all = arguments + ["--server", "127.0.0.1:\(port ?? self.grpcPort)"]
    if token { all += ["--token", Self.token] }
    return try await CommandResult.run([try ServerProcess.builtProgram("spectra-bulk")] + all, environment: environment)
  }
}
