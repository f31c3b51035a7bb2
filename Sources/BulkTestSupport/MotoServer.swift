internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// A `moto` server (an S3-, IAM- and STS-compatible mock from PyPI, `pip install "moto[server]"`)
/// on a free port of 127.0.0.1, for the S3 tests; nothing leaves the machine.
///
/// With ``launch(authentication:)`` set to `true` (the default) moto checks Signature Version 4
/// on every request after the first few: it starts with `INITIAL_NO_AUTH_ACTION_COUNT=5`, and
/// those five unsigned calls (made with boto3, independently of the code under test) create an
/// IAM user, its access key and an allow-all policy, and a role with the same policy for
/// temporary credentials. From then on a request with a wrong signature is refused with
/// `SignatureDoesNotMatch`.
///
/// A missing moto is an error, not a reason to skip. The server is stopped by ``stop()`` and at
/// process exit.
package final class MotoServer: Sendable {
  /// The port it listens on, at 127.0.0.1.
  package let port: Int
  /// The process id.
  package let pid: Int32
  /// The IAM user's access key id (`AKIA…`), allowed everything.
  package let accessKeyID: String
  /// The IAM user's secret access key.
  package let secretAccessKey: String
  /// A role with an allow-all policy, for STS.
  package let roleARN = "arn:aws:iam::123456789012:role/spectra-test"
  /// Whether requests must be signed.
  package let authenticated: Bool
  /// Where the server's standard error goes (moto logs each request there); removed with the
  /// server.
  package let logPath: String

  /// `http://127.0.0.1:PORT`.
  package var endpoint: String { "http://127.0.0.1:\(self.port)" }

  /// The servers running, by process id, with their log files.
  private static let live = Mutex<[Int32: String]>([:])
  private static let exitHandler: Void = {
    atexit {
      MotoServer.live.withLock { servers in
        for (pid, log) in servers {
          kill(pid, SIGKILL)
          unlink(log)
        }
      }
    }
  }()
  private static let sharedStart = Mutex<Task<MotoServer, any Error>?>(nil)

  /// The authenticated server that the tests of this process share, started by the first caller.
  package static func shared() async throws -> MotoServer {
    let start = Self.sharedStart.withLock { start in
      if let start { return start }
      let task = Task { try await Self.launch() }
      start = task
      return task
    }
    return try await start.value
  }

  /// A new server of the caller's own; `authentication: false` starts one that checks no
  /// signature (moto then also answers STS's unsigned `AssumeRoleWithWebIdentity`, which it
  /// otherwise wants signed, unlike AWS).
  package static func launch(authentication: Bool = true) async throws -> MotoServer {
    try await withCheckedThrowingContinuation { continuation in
      // Starting and the boto3 calls block for a second or two: a thread of their own.
      Thread.detachNewThread {
        continuation.resume(with: Result { try MotoServer(authentication: authentication) })
      }
    }
  }

  private init(authentication: Bool) throws {
    _ = Self.exitHandler
    let python = try ExternalCommand.program(named: "python3", debianPackage: "python3")
    let check = try ExternalCommand(arguments: [python, "-c", "import moto.server, boto3"], directory: "/").run()
    guard check.status == 0 else {
      throw PostgresClusterError(
        message: "moto is not installed (pip install \"moto[server]\"): "
          + check.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
      )
    }
    let port = try PostgresCluster.freePort()
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-moto-\(getpid())-\(port).log").path
    var environment = ["PYTHONUNBUFFERED": "1"]
    if authentication { environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "5" }
    let pid = try ExternalCommand.spawn(
      [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)],
      directory: "/",
      input: .file("/dev/null"),
      output: .file("/dev/null"),
      error: .file(log),
      environment: environment
    )
    Self.live.withLock { $0[pid] = log }
    self.port = port
    self.pid = pid
    self.authenticated = authentication
    self.logPath = log
    do {
      try Self.awaitListening(port: port, pid: pid, log: log)
      let keys = try Self.bootstrap(python: python, endpoint: "http://127.0.0.1:\(port)", role: "spectra-test")
      self.accessKeyID = keys.0
      self.secretAccessKey = keys.1
    } catch {
      kill(pid, SIGKILL)
      _ = try? ExternalCommand.wait(for: pid)
      Self.live.withLock { _ = $0.removeValue(forKey: pid) }
      unlink(log)
      throw error
    }
  }

  /// Stops the server and removes its log.
  package func stop() {
    guard Self.live.withLock({ $0.removeValue(forKey: self.pid) }) != nil else { return }
    kill(self.pid, SIGTERM)
    _ = try? ExternalCommand.wait(for: self.pid)
    unlink(self.logPath)
  }

  /// Polls the port until moto accepts connections, for at most 60 seconds; fails at once when
  /// moto exits.
  private static func awaitListening(port: Int, pid: Int32, log: String) throws {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid {
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw PostgresClusterError(message: "moto exited at start (status \(status)): \(output.suffix(2000))")
      }
      if Self.accepts(port: port) { return }
      usleep(50_000)
    }
    throw PostgresClusterError(message: "moto did not listen on port \(port) within 60 seconds")
  }

  private static func accepts(port: Int) -> Bool {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { return false }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// The five unsigned calls: an IAM user, its access key, an allow-all user policy, a role and
  /// its allow-all policy. Returns the access key.
  private static func bootstrap(python: String, endpoint: String, role: String) throws -> (String, String) {
    let script = """
      import boto3, json
      iam = boto3.client("iam", endpoint_url="\(endpoint)", region_name="us-east-1",
                         aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
      policy = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
      iam.create_user(UserName="spectra-test")
      key = iam.create_access_key(UserName="spectra-test")["AccessKey"]
      iam.put_user_policy(UserName="spectra-test", PolicyName="all", PolicyDocument=policy)
      trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                          "Principal": {"Federated": "test"}, "Action": "sts:AssumeRoleWithWebIdentity"}]})
      iam.create_role(RoleName="\(role)", AssumeRolePolicyDocument=trust)
      iam.put_role_policy(RoleName="\(role)", PolicyName="all", PolicyDocument=policy)
      print(key["AccessKeyId"])
      print(key["SecretAccessKey"])
      """
    let output = try ExternalCommand(arguments: [python, "-c", script], directory: "/").check()
    let lines = output.split(whereSeparator: \.isNewline).map(String.init)
    guard lines.count == 2 else { throw PostgresClusterError(message: "moto's IAM bootstrap printed \(lines.count) lines, not 2") }
    return (lines[0], lines[1])
  }
}
