internal import Foundation
internal import Synchronization

/// A throw-away PostgreSQL cluster made from the installed binaries (`initdb`, `pg_ctl`, `psql`),
/// for tests that need a real server.
///
/// Each cluster lives in a fresh temporary folder (data, Unix socket, server log), listens on a
/// free TCP port of 127.0.0.1 with `trust` authentication for the user `postgres`, and trades
/// durability for speed (`fsync=off`). When the tests run as root, which `initdb` and `pg_ctl`
/// refuse, the folder is given to the `postgres` user and both run as that user.
///
/// A cluster never outlives the test process: it is stopped and its folder removed at exit, and
/// a watchdog process does the same when the test process dies without exiting (a crash, a
/// signal). Folders left by a test process that is gone are removed before a new cluster starts.
package final class PostgresCluster: Sendable {
  /// The TCP port the server listens on, at 127.0.0.1.
  package let port: Int
  /// The cluster's folder: `data/`, `socket/` and `server.log`.
  package let directory: String
  private let programs: Programs
  /// The `-c` settings the server starts with beyond the fixed ones.
  private let settings: [String]
  /// The watchdog, while it watches.
  private let watchdog: Mutex<Watchdog?>

  /// The start of the cluster that the tests of this process share.
  private static let sharedStart = Mutex<Task<PostgresCluster, any Error>?>(nil)
  /// The folders of the clusters this process started and has not removed yet.
  private static let liveDirectories = Mutex<Set<String>>([])
  /// Registers the exit handler once per process.
  private static let exitHandler: Void = {
    atexit { PostgresCluster.removeLiveClusters() }
  }()
  private static let folderPrefix = "spectra-pg-"

  /// The cluster shared by every test of this process, started by the first caller.
  ///
  /// Concurrent first callers wait for one start. It is stopped and removed at process exit.
  package static func shared() async throws -> PostgresCluster {
    let start = Self.sharedStart.withLock { start in
      if let start { return start }
      let task = Task { try await Self.launch() }
      start = task
      return task
    }
    return try await start.value
  }

  /// A new cluster of the caller's own, started; for tests that stop and start the server and
  /// must not disturb the shared one. It is removed by `remove()` or at process exit.
  ///
  /// - Parameter libraries: server libraries to load at start (`shared_preload_libraries`), such
  ///   as `pg_stat_statements`, which a benchmark reads to count the queries of each kind; none by
  ///   default.
  package static func launch(preloading libraries: [String] = []) async throws -> PostgresCluster {
    let settings = libraries.isEmpty ? [] : ["-c shared_preload_libraries=\(libraries.joined(separator: ","))"]
    return try await withCheckedThrowingContinuation { continuation in
      // initdb and pg_ctl block for a second or two: a thread of their own, not the
      // concurrency pool.
      Thread.detachNewThread {
        continuation.resume(with: Result { try PostgresCluster(settings: settings) })
      }
    }
  }

  private init(settings: [String]) throws {
    _ = Self.exitHandler
    let programs = try Programs.find()
    let parent = programs.runAs.isEmpty ? FileManager.default.temporaryDirectory.path : "/tmp"
    Self.removeStaleFolders(in: parent)

    let directory = "\(parent)/\(Self.folderPrefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
    // A folder of the same name would be a leftover of a process with a reused id.
    try? FileManager.default.removeItem(atPath: directory)
    Self.liveDirectories.withLock { _ = $0.insert(directory) }
    var watchdog: Watchdog?
    do {
      for folder in [directory, "\(directory)/socket"] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        if let owner = programs.owner {
          guard chown(folder, owner.uid, owner.gid) == 0 else {
            throw PostgresClusterError(message: "cannot give \(folder) to the postgres user: errno \(errno)")
          }
        }
      }
      // Watching from the start: a test process killed during initdb leaves nothing either.
      watchdog = try Self.startWatchdog(programs: programs, directory: directory)
      try programs.command(
        "initdb",
        ["-D", "\(directory)/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--no-locale"],
        in: directory
      ).check()
      try Self.writeHostAuthentication(directory: "\(directory)/data", owner: programs.owner)
      self.port = try Self.startOnFreePort(programs: programs, directory: directory, settings: settings)
    } catch {
      Self.removeFolder(directory, watchdog: watchdog)
      throw error
    }
    self.directory = directory
    self.programs = programs
    self.settings = settings
    self.watchdog = Mutex(watchdog)
  }

  /// A libpq connection URL for `database` of this cluster.
  package func url(database: String = "postgres") -> String {
    "postgresql://postgres@127.0.0.1:\(self.port)/\(database)"
  }

  /// Creates the database `name`.
  package func createDatabase(_ name: String) throws {
    try self.psql("CREATE DATABASE \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"")
  }

  /// Runs `sql` (one or more statements) with the installed `psql`, stopping at the first error,
  /// and returns what it printed: rows unaligned, fields separated by `|`, without headers.
  ///
  /// Tests use it as a check that is independent of the code under test.
  @discardableResult
  package func psql(_ sql: String, database: String = "postgres") throws -> String {
    try ExternalCommand(
      arguments: [
        self.programs.psql, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
        "-h", "127.0.0.1", "-p", String(self.port), "-U", "postgres", "-d", database, "-f", "-",
      ],
      directory: self.directory,
      input: sql,
      scratchParent: self.directory
    ).check()
  }

  /// Stops the server (fast shutdown: sessions are ended); the cluster's folder stays.
  package func stop() throws {
    try self.programs.command(
      "pg_ctl",
      ["stop", "-D", "\(self.directory)/data", "-m", "fast", "-w"],
      in: self.directory
    )
    .check()
  }

  /// Starts the server again after `stop()`, on the same port.
  package func start() throws {
    try Self.start(programs: self.programs, directory: self.directory, port: self.port, settings: self.settings)
  }

  /// Stops the server at once and removes the cluster's folder.
  package func remove() {
    Self.removeFolder(self.directory, watchdog: self.watchdog.withLock { $0.take() })
  }

  private static func removeFolder(_ directory: String, watchdog: Watchdog?) {
    Self.terminateServer(dataDirectory: "\(directory)/data")
    try? FileManager.default.removeItem(atPath: directory)
    Self.liveDirectories.withLock { _ = $0.remove(directory) }
    if let watchdog {
      // The watchdog finds the folder gone and ends; reaping it leaves no zombie behind.
      close(watchdog.socket)
      waitpid(watchdog.pid, nil, 0)
    }
  }

  private static func start(programs: Programs, directory: String, port: Int, settings: [String]) throws {
    let options =
      [
        "-p \(port)", "-k \(directory)/socket", "-c listen_addresses=127.0.0.1", "-c fsync=off",
        "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=200",
      ] + settings
    try programs.command(
      "pg_ctl",
      [
        "start", "-w", "-t", "60", "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-o",
        options.joined(separator: " "),
      ],
      in: directory
    ).check()
  }

  /// `postgres` logs in without a password, every other role with its password (SCRAM), as a
  /// production server would ask of a tenant's query role.
  private static func writeHostAuthentication(directory: String, owner: (uid: uid_t, gid: gid_t)?) throws {
    let path = "\(directory)/pg_hba.conf"
    let rules = """
      local all postgres trust
      local all all scram-sha-256
      host all postgres 127.0.0.1/32 trust
      host all all 127.0.0.1/32 scram-sha-256

      """
    guard FileManager.default.createFile(atPath: path, contents: Data(rules.utf8)) else {
      throw PostgresClusterError(message: "cannot write \(path)")
    }
    if let owner, chown(path, owner.uid, owner.gid) != 0 {
      throw PostgresClusterError(message: "cannot give \(path) to the postgres user: errno \(errno)")
    }
  }

  /// Starts the server on a port that was free a moment ago; tries another when a concurrent
  /// process took it in between.
  private static func startOnFreePort(programs: Programs, directory: String, settings: [String]) throws -> Int {
    var attempt = 0
    while true {
      let port = try Self.freePort()
      do {
        try Self.start(programs: programs, directory: directory, port: port, settings: settings)
        return port
      } catch {
        attempt += 1
        let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
        guard attempt < 3, log.contains("could not bind") else {
          throw PostgresClusterError(message: "\(error)\n\(log)")
        }
      }
    }
  }

  /// A TCP port of 127.0.0.1 that nothing listens on: the kernel's pick for port 0. Other test
  /// servers (moto) take theirs from here too.
  static func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw PostgresClusterError(message: "socket() failed: errno \(errno)") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
        guard bind(descriptor, socketAddress, length) == 0 else { return false }
        return getsockname(descriptor, socketAddress, &length) == 0
      }
    }
    guard bound else { throw PostgresClusterError(message: "cannot find a free port: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Starts a shell that waits for the end of the socket whose other end only this process holds,
  /// then stops the server and removes the folder: the kernel closes that end however this
  /// process ends, so a crash still cleans up.
  private static func startWatchdog(programs: Programs, directory: String) throws -> Watchdog {
    var descriptors: [Int32] = [-1, -1]
    // A socket pair rather than a pipe, as it can be made close-on-exec in one call: no other
    // child (the server above all) may inherit this process's end.
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &descriptors) == 0 else {
      throw PostgresClusterError(message: "socketpair() failed: errno \(errno)")
    }
    defer { close(descriptors[0]) }
    // Interrupts from the terminal reach the whole process group; the watchdog must outlive them.
    let script = #"trap '' INT HUP; cat >/dev/null; [ -d "$0" ] || exit 0; "$@" >/dev/null 2>&1; rm -rf "$0""#
    let stop = programs.command("pg_ctl", ["stop", "-D", "\(directory)/data", "-m", "immediate", "-w"], in: directory)
    do {
      let pid = try ExternalCommand.spawn(
        ["/bin/sh", "-c", script, directory] + stop.arguments,
        directory: "/",
        input: .descriptor(descriptors[0]),
        output: .file("/dev/null"),
        error: .file("/dev/null")
      )
      return Watchdog(socket: descriptors[1], pid: pid)
    } catch {
      close(descriptors[1])
      throw error
    }
  }

  /// The exit handler: stops every cluster still running and removes its folder.
  private static func removeLiveClusters() {
    let directories = Self.liveDirectories.withLock { directories in
      defer { directories.removeAll() }
      return directories
    }
    for directory in directories {
      Self.terminateServer(dataDirectory: "\(directory)/data")
      try? FileManager.default.removeItem(atPath: directory)
    }
  }

  /// Removes the folders of clusters whose test process is gone, stopping their servers first.
  private static func removeStaleFolders(in parent: String) {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
    for entry in entries where entry.hasPrefix(Self.folderPrefix) {
      let owner = entry.dropFirst(Self.folderPrefix.count).split(separator: "-").first.flatMap { Int32($0) }
      guard let owner, owner != getpid(), kill(owner, 0) != 0, errno == ESRCH else { continue }
      Self.terminateServer(dataDirectory: "\(parent)/\(entry)/data")
      try? FileManager.default.removeItem(atPath: "\(parent)/\(entry)")
    }
  }

  /// Sends the server of `dataDirectory` an immediate shutdown (SIGQUIT) and waits up to five
  /// seconds for it to go. Plain system calls only: this also runs in the exit handler.
  private static func terminateServer(dataDirectory: String) {
    guard
      let pidFile = try? String(contentsOfFile: "\(dataDirectory)/postmaster.pid", encoding: .utf8),
      let pid = pidFile.split(separator: "\n").first.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) })
    else { return }
    // Only a process whose command line names this data folder: the id may have been reused.
    func isServer() -> Bool {
      guard let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
      return String(decoding: commandLine, as: UTF8.self).contains(dataDirectory)
    }
    guard isServer() else { return }
    kill(pid, SIGQUIT)
    for _ in 0 ..< 500 where isServer() {
      usleep(10_000)
    }
  }
}

extension PostgresCluster {
  /// The process that cleans up after a test process that died, and this process's end of the
  /// socket it reads: closing that end sets it off.
  fileprivate struct Watchdog: Sendable {
    var socket: Int32
    var pid: pid_t
  }

  /// Where the PostgreSQL programs are, and as whom they run.
  fileprivate struct Programs: Sendable {
    /// The folder with `initdb`, `pg_ctl` and `postgres`.
    var binaries: String
    var psql: String
    /// The command prefix that runs a program as the `postgres` user; empty when not root.
    var runAs: [String]
    /// The `postgres` user, when programs run as it.
    var owner: (uid: uid_t, gid: gid_t)?

    static func find() throws -> Programs {
      let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
      let candidates = path.split(separator: ":").map(String.init) + ["/usr/lib/postgresql/15/bin"]
      let manager = FileManager.default
      guard
        let initdb = candidates.map({ "\($0)/initdb" }).first(where: { manager.isExecutableFile(atPath: $0) })
      else {
        throw PostgresClusterError(message: "initdb was found neither on PATH nor in /usr/lib/postgresql/15/bin")
      }
      // Debian links the programs into /usr/local/bin; pg_ctl wants the folder beside postgres.
      let binaries = URL(fileURLWithPath: initdb).resolvingSymlinksInPath().deletingLastPathComponent().path
      guard manager.isExecutableFile(atPath: "\(binaries)/pg_ctl") else {
        throw PostgresClusterError(message: "pg_ctl is missing beside \(binaries)/initdb")
      }
      let psql = manager.isExecutableFile(atPath: "\(binaries)/psql") ? "\(binaries)/psql" : "/usr/bin/psql"

      guard geteuid() == 0 else { return Programs(binaries: binaries, psql: psql, runAs: [], owner: nil) }
      var user = getpwnam("postgres")
      if user == nil {
        try ExternalCommand(arguments: ["/usr/sbin/useradd", "--system", "postgres"], directory: "/").check()
        user = getpwnam("postgres")
      }
      guard let user else { throw PostgresClusterError(message: "there is no postgres user to run the server as") }
      let runAs =
        manager.isExecutableFile(atPath: "/usr/sbin/runuser")
        ? ["/usr/sbin/runuser", "-u", "postgres", "--"]
        : ["/bin/su", "postgres", "-s", "/bin/sh", "-c", #""$0" "$@""#]
      return Programs(binaries: binaries, psql: psql, runAs: runAs, owner: (user.pointee.pw_uid, user.pointee.pw_gid))
    }

    /// `program` of the PostgreSQL folder with `arguments`, run as the `postgres` user when needed.
    func command(_ program: String, _ arguments: [String], in directory: String) -> ExternalCommand {
      ExternalCommand(
        arguments: self.runAs + ["\(self.binaries)/\(program)"] + arguments,
        directory: directory,
        scratchParent: directory
      )
    }
  }
}
