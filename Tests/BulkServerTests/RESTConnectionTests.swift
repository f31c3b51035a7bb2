import BulkProto
import BulkTestSupport
import Foundation
import GRPCCore
import Testing

/// The REST surface's connection handling through the real binary: concurrent uploads to one
/// job, `Expect: 100-continue`, the header timeout and the connection caps of both surfaces.
/// Every loop is bounded and talks to 127.0.0.1 only.
@Suite("spectra-bulk serve, connections", .timeLimit(.minutes(2)))
struct RESTConnectionTests {
  static let token = ServerEndToEndTests.token

  /// A server on free ports with the demo tables; `body` gets it, its REST base URL and its
  /// data directory.
  static func withServer(
    _ arguments: [String] = [],
    _ body: (ServerProcess, String, String) async throws -> Void
  ) async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let server = try ServerProcess(
        arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", "\(directory)/data", "--demo"] + arguments,
        environment: ["SPECTRA_DEV_TOKEN": Self.token]
      )
      try await body(server, "http://127.0.0.1:\(try server.awaitHTTPPort())", directory)
      #expect(server.stop(with: SIGTERM) == 0)
    }
  }

  /// Creates an insert job on `customers` and returns its id and signed upload URL.
  static func openJob(base: String, directory: String) throws -> (id: String, uploadURL: String) {
    let bearer = ["-H", "Authorization: Bearer \(Self.token)"]
    let created = try ServerTLSTests.curl(
      bearer + ["-X", "POST", "-d", #"{"operation":"insert","object":"customers"}"#, "\(base)/v1/bulk/jobs"],
      in: directory
    )
    let id = try #require(created.object["job_id"] as? String, "\(created)")
    let signed = try ServerTLSTests.curl(bearer + ["\(base)/v1/bulk/jobs/\(id)/upload-url"], in: directory)
    return (id, try #require(signed.object["upload_url"] as? String, "\(signed)"))
  }

  static func rows(_ range: Range<Int>) -> String {
    range.map { "\($0),name\($0),n\($0)@example.com\n" }.joined()
  }

  @Test("a plain PUT to a job whose upload is running is refused with 409; the first one stores all it sent")
  func concurrentPuts() async throws {
    try await Self.withServer { server, base, directory in
      let (id, uploadURL) = try Self.openJob(base: base, directory: directory)
      let url = try #require(URL(string: uploadURL))
      let target = url.path + "?" + (url.query ?? "")
      let first = Array(("id,name,email\n" + Self.rows(0 ..< 60_000)).utf8)
      let second = Array(Self.rows(60_000 ..< 60_010).utf8)
      let socket = try LoopbackSocket(port: try server.awaitHTTPPort())
      socket.send(
        "PUT \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: \(first.count + second.count)\r\n\r\n"
      )
      socket.send(first)
      // The first upload has stored a piece: it is running.
      let spool = "\(directory)/data/staging/\(id)/upload"
      for _ in 0 ..< 200 {
        let size = (try? FileManager.default.attributesOfItem(atPath: spool)[.size] as? Int) ?? 0
        if size > 0 { break }
        #expect(socket.receive(timeout: .milliseconds(50)) == .nothing, "the first PUT was answered early")
      }
      let body = "\(directory)/second.csv"
      try Data(second).write(to: URL(fileURLWithPath: body))
      let refused = try ServerTLSTests.curl(
        ["-X", "PUT", "--data-binary", "@\(body)", "-H", "Content-Type: text/csv", uploadURL],
        in: directory
      )
      #expect(refused.status == 409, "\(refused)")
      #expect(refused.body.contains("another upload to job \(id) is in progress"), "\(refused.body)")
      socket.send(second)
      #expect(socket.receive(until: "\"bytes_uploaded\":\(first.count + second.count)", timeout: .seconds(30)))
      let job = try ServerTLSTests.curl(
        ["-H", "Authorization: Bearer \(Self.token)", "\(base)/v1/bulk/jobs/\(id)"],
        in: directory
      )
      #expect(job.object["bytes_uploaded"] as? Int == first.count + second.count, "\(job)")
    }
  }

  @Test("curl sends a 2 MB body at once: Expect: 100-continue is answered")
  func expectContinue() async throws {
    try await Self.withServer { _, base, directory in
      let (_, uploadURL) = try Self.openJob(base: base, directory: directory)
      let body = "\(directory)/big.csv"
      let text = "id,name,email\n" + Self.rows(0 ..< 70_000)
      #expect(text.utf8.count > 2_000_000)
      try Data(text.utf8).write(to: URL(fileURLWithPath: body))
      // Without an answer to its Expect header, curl would wait the 10 seconds given here.
      let start = ContinuousClock.now
      let put = try ServerTLSTests.curl(
        [
          "--expect100-timeout", "10", "-X", "PUT", "--data-binary", "@\(body)", "-H", "Content-Type: text/csv",
          uploadURL,
        ],
        in: directory
      )
      let elapsed = ContinuousClock.now - start
      #expect(put.status == 200, "\(put)")
      #expect(put.object["bytes_uploaded"] as? Int == text.utf8.count)
      #expect(elapsed < .seconds(5), "the PUT took \(elapsed)")
    }
  }

  @Test("a request head sent a line at a time is cut off at --http-header-timeout")
  func slowHeaders() async throws {
    try await Self.withServer(["--http-header-timeout", "1"]) { server, _, _ in
      let socket = try LoopbackSocket(port: try server.awaitHTTPPort())
      let start = ContinuousClock.now
      socket.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
      var closed = false
      // One header line every 200 ms, for at most 10 s: the head never ends.
      for line in 0 ..< 50 {
        let received = socket.receive(timeout: .milliseconds(200))
        if received == .closed {
          closed = true
          break
        }
        #expect(received == .nothing)
        guard socket.send("X-Slow-\(line): a\r\n") else {
          closed = true
          break
        }
      }
      let elapsed = ContinuousClock.now - start
      #expect(closed, "the connection was still open after \(elapsed)")
      #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(5), "closed after \(elapsed)")
      // A request sent in one go is still served.
      let fresh = try LoopbackSocket(port: try server.awaitHTTPPort())
      fresh.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
      #expect(fresh.receive(until: "200 OK", timeout: .seconds(10)))
    }
  }

  @Test("connections past --http-max-connections and --grpc-max-connections are closed; open ones keep working")
  func connectionCaps() async throws {
    try await Self.withServer(["--http-max-connections", "2", "--grpc-max-connections", "2"]) { server, _, _ in
      let http = try server.awaitHTTPPort()
      let health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      let open = try (0 ..< 2).map { _ in try LoopbackSocket(port: http) }
      for socket in open {
        socket.send(health)
        #expect(socket.receive(until: "200 OK", timeout: .seconds(10)))
      }
      let extra = try LoopbackSocket(port: http)
      extra.send(health)
      #expect(extra.receive(timeout: .seconds(10)) == .closed)
      open[0].send(health)
      #expect(open[0].receive(until: "200 OK", timeout: .seconds(10)))

      let grpc = try server.awaitGRPCPort()
      // An HTTP/2 connection held open: the client preface and an empty SETTINGS frame.
      let held = try LoopbackSocket(port: grpc)
      held.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0])
      guard case .bytes = held.receive(timeout: .seconds(10)) else {
        Issue.record("the first gRPC connection was not served")
        return
      }
      try await ServerEndToEndTests.withClient(port: grpc) { client in
        let job = try await client.createJob(
          ServerEndToEndTests.create("customers"),
          metadata: ServerEndToEndTests.auth
        )
        let third = try LoopbackSocket(port: grpc)
        third.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0])
        #expect(third.receive(timeout: .seconds(10)) == .closed)
        var get = Spectra_Bulk_V1_GetJobRequest()
        get.jobID = job.jobID
        #expect(try await client.getJob(get, metadata: ServerEndToEndTests.auth).state == .open)
      }
    }
  }
}
