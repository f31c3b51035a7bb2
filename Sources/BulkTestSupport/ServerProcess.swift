internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// A `spectra-bulk serve` process started from the built binary, for tests of what only a real
/// process shows: the listening lines, signals, restarts, and the client commands.
///
/// Started with `posix_spawn` (see ``ExternalCommand``), its standard output read from a pipe and
/// its exit awaited with `waitpid`, so nothing depends on Dispatch's shared threads.
package final class ServerProcess {
  /// The server's process id.
  package let pid: Int32
  /// The lines of standard output read so far.
  package private(set) var lines: [String] = []
  /// The read end of the pipe on the server's standard output.
  private let output: Int32
  /// Output read but not yet split into lines.
  private var buffer: [UInt8] = []
  /// The exit status, once the process has been waited for.
  private var status: Int32?

  /// The program `name` beside the test bundle in the build folder, where `swift build` puts
  /// every product.
  package static func builtProgram(_ name: String) throws -> String {
    let folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let path = folder.appendingPathComponent(name).path
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw ServerProcessError.missingBinary(path)
    }
    return path
  }

  /// Starts `spectra-bulk serve` with `arguments`, its `environment` added to this process's;
  /// standard error goes to `errorLog` (discarded when `nil`). `program` is the `spectra-bulk`
  /// binary to run: the one built beside this program when `nil`.
  package init(
    arguments: [String],
    environment: [String: String] = [:],
    errorLog: String? = nil,
    program: String? = nil
  ) throws {
    var descriptors: [Int32] = [0, 0]
    guard pipe(&descriptors) == 0 else { throw ServerProcessError.system("pipe", errno) }
    // Close-on-exec, so that processes spawned meanwhile by other tests do not hold the write
    // end open (which would hide this server's exit from `awaitLine`).
    _ = fcntl(descriptors[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(descriptors[1], F_SETFD, FD_CLOEXEC)
    defer { close(descriptors[1]) }
    do {
      self.pid = try ExternalCommand.spawn(
        [try program ?? Self.builtProgram("spectra-bulk"), "serve"] + arguments,
        directory: "/",
        input: .file("/dev/null"),
        output: .descriptor(descriptors[1]),
        error: .file(errorLog ?? "/dev/null"),
        environment: environment
      )
    } catch {
      close(descriptors[0])
      throw error
    }
    self.output = descriptors[0]
  }

  /// The rest of the first line starting with `prefix`, among the lines read so far or, reading
  /// standard output further, the ones to come.
  ///
  /// - Throws: ``ServerProcessError/exited(lines:)`` when the output ends first.
  package func awaitLine(startingWith prefix: String) throws -> String {
    if let line = self.lines.first(where: { $0.hasPrefix(prefix) }) {
      return String(line.dropFirst(prefix.count))
    }
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      if let newline = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: self.buffer[..<newline], as: UTF8.self)
        self.buffer.removeSubrange(...newline)
        self.lines.append(line)
        if line.hasPrefix(prefix) { return String(line.dropFirst(prefix.count)) }
        continue
      }
      let count = read(self.output, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { throw ServerProcessError.exited(lines: self.lines) }
      self.buffer.append(contentsOf: chunk[..<count])
    }
  }

  /// The port of the `grpc listening on HOST:PORT` line.
  package func awaitGRPCPort() throws -> Int {
    try Self.port(of: try self.awaitLine(startingWith: "grpc listening on "))
  }

  /// The port of the `http listening on HOST:PORT` line.
  package func awaitHTTPPort() throws -> Int {
    try Self.port(of: try self.awaitLine(startingWith: "http listening on "))
  }

  /// Sends `signal` and waits for the process to exit; returns its exit status.
  @discardableResult
  package func stop(with signal: Int32 = SIGTERM) -> Int32 {
    if self.status == nil { kill(self.pid, signal) }
    return self.waitForExit()
  }

  /// Waits for the process to exit by itself; returns its exit status, or 128 plus the signal
  /// that ended it.
  @discardableResult
  package func waitForExit() -> Int32 {
    if let status = self.status { return status }
    let status = (try? ExternalCommand.wait(for: self.pid)) ?? -1
    self.status = status
    return status
  }

  deinit {
    if self.status == nil {
      kill(self.pid, SIGKILL)
      _ = try? ExternalCommand.wait(for: self.pid)
    }
    close(self.output)
  }

  private static func port(of address: String) throws -> Int {
    guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
      throw ServerProcessError.unreadableAddress(address)
    }
    return port
  }
}

/// Why a ``ServerProcess`` could not give what a test asked for.
package enum ServerProcessError: Error, CustomStringConvertible {
  /// The server's output ended (it exited) before the awaited line; the lines it printed.
  case exited(lines: [String])
  /// The built binary is not there.
  case missingBinary(String)
  /// A listening line whose address has no port.
  case unreadableAddress(String)
  /// A system call failed with `errno`.
  case system(String, Int32)

  package var description: String {
    switch self {
    case .exited(let lines): "the server exited; it printed: \(lines.joined(separator: " | "))"
    case .missingBinary(let path): "\(path) is missing: swift build builds it"
    case .unreadableAddress(let address): "no port in the listening address '\(address)'"
    case .system(let call, let code): "\(call)() failed: \(String(cString: strerror(code)))"
    }
  }
}
