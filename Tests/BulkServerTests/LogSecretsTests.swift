import BulkProto
import BulkServer
import BulkTestSupport
import Crypto
import Foundation
import GRPCCore
import Testing

/// What the server logs, in both formats: the shape of a line, and that no secret it handles
/// (bearer tokens, upload URL signatures, the metrics token, a query login's password) ever
/// reaches one, even at trace level.
@Suite("spectra-bulk serve, log lines")
struct LogSecretsTests {
  @Test("no token, signature or password reaches a log line at trace level", arguments: ["text", "json"])
  func noSecretInLogs(format: String) async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let token = "tok-\(UUID().uuidString)"
      let plainToken = "plain-\(UUID().uuidString)"
      let wrongToken = "wrong-\(UUID().uuidString)"
      let metricsToken = "metrics-\(UUID().uuidString)"
      let password = "pw-\(UUID().uuidString)"
      let digest = SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
      let tenants = "\(directory)/tenants.json"
      try Data(
        #"""
        {"tenants": [{"id": "tenant-123", "tokens": ["sha256:\#(digest)", "\#(plainToken)"],
          "query_url": "postgresql://reader@127.0.0.1:1/warehouse", "query_password_env": "SPECTRA_TEST_QUERY_PASSWORD"}]}
        """#.utf8
      ).write(to: URL(fileURLWithPath: tenants))
      let log = "\(directory)/server.log"
      let server = try ServerProcess(
        arguments: [
          "--grpc-port", "0", "--http-port", "0", "--data-dir", "\(directory)/data", "--demo", "--tenants", tenants,
          "--log-level", "trace", "--log-format", format, "--metrics-token", metricsToken,
        ],
        environment: ["SPECTRA_TEST_QUERY_PASSWORD": password],
        errorLog: log
      )
      let base = "http://127.0.0.1:\(try server.awaitHTTPPort())"
      let grpcPort = try server.awaitGRPCPort()
      let bearer = ["-H", "Authorization: Bearer \(token)"]

      let created = try ServerTLSTests.curl(
        bearer + [
          "-X", "POST", "-H", "Content-Type: application/json", "-H", "X-Request-ID: req-\(format)",
          "-d", #"{"operation":"insert","object":"customers","content_type":"CSV","request_id":"create-1"}"#,
          "\(base)/v1/bulk/jobs",
        ],
        in: directory
      )
      let jobID = try #require(created.object["job_id"] as? String, "\(created)")
      let signed = try ServerTLSTests.curl(bearer + ["\(base)/v1/bulk/jobs/\(jobID)/upload-url"], in: directory)
      let uploadURL = try #require(signed.object["upload_url"] as? String, "\(signed)")
      let signature = try #require(
        URLComponents(string: uploadURL)?.queryItems?.first { $0.name == "signature" }?.value
      )
      let csv = "\(directory)/data.csv"
      try Data("id,name,email\n100,Edsger,e@example.com\n".utf8).write(to: URL(fileURLWithPath: csv))
      let put = try ServerTLSTests.curl(
        ["-X", "PUT", "--data-binary", "@\(csv)", "-H", "Content-Type: text/csv", uploadURL],
        in: directory
      )
      #expect(put.status == 200, "\(put)")
      let tampered = uploadURL.replacingOccurrences(of: "signature=", with: "signature=0")
      #expect(
        try ServerTLSTests.curl(["-X", "PUT", "--data-binary", "@\(csv)", tampered], in: directory).status == 403
      )
      for wrong in [wrongToken, plainToken + "x"] {
        let refused = try ServerTLSTests.curl(
          ["-H", "Authorization: Bearer \(wrong)", "\(base)/v1/bulk/jobs/\(jobID)"],
          in: directory
        )
        #expect(refused.status == 401)
      }
      let plain = try ServerTLSTests.curl(
        ["-H", "Authorization: Bearer \(plainToken)", "\(base)/v1/bulk/jobs/\(jobID)"],
        in: directory
      )
      #expect(plain.status == 200)
      #expect(
        try ServerTLSTests.curl(["-H", "Authorization: Bearer \(metricsToken)", "\(base)/metrics"], in: directory)
          .status == 200
      )
      #expect(
        try ServerTLSTests.curl(["-H", "Authorization: Bearer \(wrongToken)", "\(base)/metrics"], in: directory).status
          == 401
      )

      try await ServerEndToEndTests.withClient(port: grpcPort) { client in
        var get = Spectra_Bulk_V1_GetJobRequest()
        get.jobID = jobID
        await #expect(throws: RPCError.self) {
          _ = try await client.getJob(get, metadata: ["authorization": "Bearer \(wrongToken)"])
        }
        let job = try await ServerEndToEndTests.closeAndWatch(
          jobID,
          client: client,
          metadata: ["authorization": "Bearer \(token)"]
        )
        #expect(job.state == .jobComplete)
      }
      #expect(server.stop(with: SIGTERM) == 0)

      let text = try String(contentsOfFile: log, encoding: .utf8)
      let lines = text.split(separator: "\n").map(String.init)
      #expect(lines.count > 10, "the server logged only: \(text)")
      for secret in [token, plainToken, wrongToken, metricsToken, password, signature] {
        #expect(!text.contains(secret), "a secret reached the log:\n\(lines.filter { $0.contains(secret) })")
      }
      let iso8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
      if format == "json" {
        var objects: [[String: String]] = []
        for line in lines {
          let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
            "not a JSON object of strings: \(line)"
          )
          #expect(object["level"] != nil && object["message"] != nil, "\(line)")
          #expect(object["time"].map { $0.wholeMatch(of: iso8601) != nil } == true, "\(line)")
          objects.append(object)
        }
        #expect(
          objects.contains { $0["message"] == "job created" && $0["job_id"] == jobID && $0["request_id"] == "create-1" }
        )
        #expect(objects.contains { $0["message"] == "request answered" && $0["request_id"] == "req-\(format)" })
        #expect(objects.contains { $0["tenant_id"] == "tenant-123" && $0["job_id"] == jobID })
      } else {
        for line in lines {
          #expect(line.split(separator: " ").first.map { String($0).wholeMatch(of: iso8601) != nil } == true, "\(line)")
        }
        #expect(text.contains("job_id=\(jobID)"))
      }
    }
  }

  @Test(
    "free text loses bearer tokens, signatures and URL passwords",
    arguments: [
      ("Authorization: Bearer abc.def", "Authorization: Bearer [redacted]"),
      (
        "PUT /v1/bulk/uploads/j?tenant=t&expires=1&signature=f00d",
        "PUT /v1/bulk/uploads/j?tenant=t&expires=1&signature=[redacted]"
      ),
      ("postgresql://reader:s3cret@db:5432/w failed", "postgresql://reader:[redacted]@db:5432/w failed"),
      ("host=db password=hunter2 user=x", "host=db password=[redacted] user=x"),
      ("job bulk-job-1 done", "job bulk-job-1 done"),
    ]
  )
  func redaction(input: String, expected: String) {
    #expect(LogRedaction.scrub(input) == expected)
  }
}
