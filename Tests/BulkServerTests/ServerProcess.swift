import Foundation
import Testing

/// A `spectra-bulk serve` process started from the built binary, for tests of what only a real
/// process shows: the listening line, signals, restarts.
final class ServerProcess {
  let process = Process()
  private let output = Pipe()
  private(set) var lines: [String] = []
  /// Output read but not yet split into lines.
  private var buffer = Data()

  /// The `spectra-bulk` binary beside the test bundle in the build folder.
  static var binary: URL {
    get throws {
      let bundleDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
      let binary = bundleDirectory.appendingPathComponent("spectra-bulk")
      try #require(
        FileManager.default.isExecutableFile(atPath: binary.path),
        "\(binary.path) is missing: swift build builds it"
      )
      return binary
    }
  }

  init(arguments: [String], environment: [String: String] = [:]) throws {
    self.process.executableURL = try Self.binary
    self.process.arguments = ["serve"] + arguments
    self.process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    self.process.standardOutput = self.output
    self.process.standardError = FileHandle.nullDevice
    try self.process.run()
  }

  /// The rest of the first line starting with `prefix`, among the lines read so far or, reading
  /// standard output further, the ones to come.
  func awaitLine(startingWith prefix: String) throws -> String {
    if let line = self.lines.first(where: { $0.hasPrefix(prefix) }) {
      return String(line.dropFirst(prefix.count))
    }
    let handle = self.output.fileHandleForReading
    while true {
      if let newline = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: self.buffer[..<newline], as: UTF8.self)
        self.buffer.removeSubrange(...newline)
        self.lines.append(line)
        if line.hasPrefix(prefix) { return String(line.dropFirst(prefix.count)) }
        continue
      }
      let chunk = handle.availableData
      if chunk.isEmpty {
        throw ServerProcessError.exited(lines: self.lines)
      }
      self.buffer.append(chunk)
    }
  }

  /// The port of the `grpc listening on HOST:PORT` line.
  func awaitGRPCPort() throws -> Int {
    let address = try self.awaitLine(startingWith: "grpc listening on ")
    return try #require(address.split(separator: ":").last.flatMap { Int($0) })
  }

  /// Sends `signal` and waits for the process to exit; returns its exit status.
  func stop(with signal: Int32 = SIGTERM) -> Int32 {
    kill(self.process.processIdentifier, signal)
    self.process.waitUntilExit()
    return self.process.terminationStatus
  }

  deinit {
    if self.process.isRunning {
      kill(self.process.processIdentifier, SIGKILL)
      self.process.waitUntilExit()
    }
  }
}

enum ServerProcessError: Error {
  case exited(lines: [String])
}
