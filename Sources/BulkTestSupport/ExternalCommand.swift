internal import Foundation

/// One run of an installed program, with its standard output and error captured in files.
///
/// Started with `posix_spawn` and awaited with a blocking `waitpid` on the calling thread:
/// Foundation's `Process` reaps its children on Dispatch's shared threads, which tests that block
/// (in `psql`, say) can starve, so the wait would never end. Output goes to files rather than
/// pipes: a PostgreSQL server started by `pg_ctl` lives on after the command and would keep an
/// inherited pipe open, so reading a pipe to its end could wait forever.
package struct ExternalCommand {
  /// The program (an absolute path) and its arguments.
  package var arguments: [String]
  /// The folder the program starts in; the unprivileged `postgres` user must be able to enter
  /// it, so it is never the caller's folder.
  package var directory: String
  /// Read as the program's standard input, when set.
  package var input: String?
  /// Variables set for the program on top of this process's environment.
  package var environment: [String: String] = [:]
  /// Where the files that capture input and output go: the cluster's folder, so that whatever
  /// removes the cluster removes them too, even after a crash.
  package var scratchParent = FileManager.default.temporaryDirectory.path

  /// A command to run `arguments` in `directory`.
  package init(
    arguments: [String],
    directory: String,
    input: String? = nil,
    environment: [String: String] = [:],
    scratchParent: String = FileManager.default.temporaryDirectory.path
  ) {
    self.arguments = arguments
    self.directory = directory
    self.input = input
    self.environment = environment
    self.scratchParent = scratchParent
  }

  /// What a finished run printed.
  package struct Output: Sendable {
    /// The exit status, or 128 plus the signal that ended the program.
    package var status: Int32
    /// Everything the program wrote to its standard output.
    package var standardOutput: String
    /// Everything the program wrote to its standard error.
    package var standardError: String
  }

  /// Where a spawned program's standard input comes from, or its standard output or error goes
  /// (a file is created or truncated).
  package enum Stream {
    case file(String)
    case descriptor(Int32)
  }

  /// Runs the program to its end; blocks the calling thread meanwhile.
  package func run() throws -> Output {
    let scratch = "\(self.scratchParent)/spectra-command-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let inputPath = "\(scratch)/stdin"
    try Data((self.input ?? "").utf8).write(to: URL(fileURLWithPath: inputPath))

    let pid = try Self.spawn(
      self.arguments,
      directory: self.directory,
      input: .file(inputPath),
      output: .file("\(scratch)/stdout"),
      error: .file("\(scratch)/stderr"),
      environment: self.environment
    )
    return Output(
      status: try Self.wait(for: pid),
      standardOutput: (try? String(contentsOfFile: "\(scratch)/stdout", encoding: .utf8)) ?? "",
      standardError: (try? String(contentsOfFile: "\(scratch)/stderr", encoding: .utf8)) ?? ""
    )
  }

  /// Runs the program and returns its standard output, or throws with its standard error when it
  /// exits with a failure status.
  @discardableResult
  package func check() throws -> String {
    let output = try self.run()
    guard output.status == 0 else {
      throw PostgresClusterError(
        message: "\(self.arguments.joined(separator: " ")) exited with status \(output.status): "
          + output.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
      )
    }
    return output.standardOutput
  }

  /// Waits for the child `pid` to end (blocking the calling thread) and returns its exit status,
  /// or 128 plus the signal that ended it.
  package static func wait(for pid: Int32) throws -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
      guard errno == EINTR else { throw PostgresClusterError(message: "waitpid() failed: errno \(errno)") }
    }
    // WIFEXITED / WEXITSTATUS, which Swift does not import.
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }

  /// Starts `arguments` in `directory` with the given standard input, output and error, and
  /// returns its process id without waiting. `environment` is added to this process's.
  ///
  /// The child gets an empty signal mask and default handlers, whatever the calling thread had
  /// (Dispatch's threads block most signals), and none of this process's other descriptors.
  package static func spawn(
    _ arguments: [String],
    directory: String,
    input: Stream,
    output: Stream,
    error: Stream,
    environment: [String: String] = [:]
  ) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (target, stream) in [(Int32(0), input), (1, output), (2, error)] {
      switch stream {
      case .file(let path):
        let flags = target == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC
        posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o600)
      case .descriptor(let descriptor):
        posix_spawn_file_actions_adddup2(&actions, descriptor, target)
      }
    }
    guard let closeFrom = Self.addCloseFrom, let changeDirectory = Self.addChangeDirectory else {
      throw PostgresClusterError(message: "the C library lacks posix_spawn_file_actions_addclosefrom_np (glibc 2.34)")
    }
    _ = closeFrom(&actions, 3)
    _ = changeDirectory(&actions, directory)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }
    var pid: Int32 = 0
    let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
    guard status == 0 else {
      throw PostgresClusterError(message: "cannot start \(arguments[0]): \(String(cString: strerror(status)))")
    }
    return pid
  }

  // glibc declares these two only for _GNU_SOURCE, which Swift's Glibc module does not define,
  // so they are looked up by name.
  private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
  private typealias AddChangeDirectory =
    @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
  private static let addCloseFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
    .map { unsafeBitCast($0, to: AddCloseFrom.self) }
  private static let addChangeDirectory = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
    .map { unsafeBitCast($0, to: AddChangeDirectory.self) }
}
