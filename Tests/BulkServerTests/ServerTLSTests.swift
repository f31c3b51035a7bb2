import BulkCore
import BulkProto
import BulkServer
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Testing

/// TLS on both surfaces with a PKI the test makes with `openssl`: gRPC with the generated Swift
/// client, REST with curl against the binary, mTLS on both, the refusal of plaintext off
/// loopback, and `/metrics` behind its token.
@Suite("TLS on both surfaces", .timeLimit(.minutes(3)))
struct ServerTLSTests {
  typealias Client = Spectra_Bulk_V1_BulkService.Client<HTTP2ClientTransport.Posix>

  static let token = "tls-token"
  static let auth: Metadata = ["authorization": "Bearer \(Self.token)"]

  static func withCertificates<T>(_ body: (TestCertificates) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
      try await body(try TestCertificates.make(in: directory))
    }
  }

  /// The configuration of an in-process server on free loopback ports with the development
  /// token, its data under `certificates.directory`.
  static func configuration(_ certificates: TestCertificates, clientCA: Bool = false) -> ServerConfiguration {
    var configuration = ServerConfiguration()
    configuration.dataDirectory = "\(certificates.directory)/data"
    configuration.grpcPort = 0
    configuration.httpPort = 0
    configuration.developmentToken = Self.token
    configuration.tlsCertificateFile = certificates.serverCertificate
    configuration.tlsKeyFile = certificates.serverKey
    configuration.tlsClientCAFile = clientCA ? certificates.caCertificate : nil
    return configuration
  }

  static func server(_ configuration: ServerConfiguration) throws -> BulkServer {
    try BulkServer(
      configuration: configuration,
      logger: Logger(label: "tls", factory: { _ in SwiftLogNoOpLogHandler() }),
      announce: { _ in }
    )
  }

  /// Runs `body` with the gRPC port of `server`, serving meanwhile.
  static func serving(_ server: BulkServer, _ body: (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup { group in
      group.addTask { try await server.run() }
      try await body(try await server.grpcPort())
      group.cancelAll()
    }
  }

  /// One `CreateJob` over a new connection secured by `security`. The call fails at once
  /// when the connection cannot be made, rather than waiting for it to become ready.
  static func createJob(
    port: Int,
    security: HTTP2ClientTransport.Posix.TransportSecurity
  ) async throws -> Spectra_Bulk_V1_Job {
    let transport = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: port),
      transportSecurity: security
    )
    var options = CallOptions.defaults
    options.waitForReady = false
    options.timeout = .seconds(20)
    var request = Spectra_Bulk_V1_CreateJobRequest()
    request.operation = .insert
    request.object = "customers"
    return try await withGRPCClient(transport: transport) { client in
      try await Client(wrapping: client).createJob(request, metadata: Self.auth, options: options)
    }
  }

  /// Trusts the test CA; presents `certificate` and `key` when given.
  static func tls(
    _ certificates: TestCertificates,
    certificate: String? = nil,
    key: String? = nil
  ) -> HTTP2ClientTransport.Posix.TransportSecurity {
    let roots: TLSConfig.TrustRootsSource = .certificates([.file(path: certificates.caCertificate, format: .pem)])
    guard let certificate, let key else {
      return .tls { $0.trustRoots = roots }
    }
    return .mTLS(
      certificateChain: [.file(path: certificate, format: .pem)],
      privateKey: .file(path: key, format: .pem)
    ) { $0.trustRoots = roots }
  }

  /// Expects `call` to fail as a connection that could not be made.
  static func expectRefused(
    _ what: Comment,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ call: () async throws -> Spectra_Bulk_V1_Job
  ) async {
    do {
      _ = try await call()
      Issue.record("\(what) was served", sourceLocation: sourceLocation)
    } catch let error as RPCError {
      #expect(error.code == .unavailable, "\(what): \(error)", sourceLocation: sourceLocation)
    } catch {
      Issue.record("\(what): \(error)", sourceLocation: sourceLocation)
    }
  }

  @Test("gRPC over TLS: a client trusting the CA is served; a plaintext client is not")
  func grpcTLS() async throws {
    try await Self.withCertificates { certificates in
      let server = try Self.server(Self.configuration(certificates))
      try await Self.serving(server) { port in
        let job = try await Self.createJob(port: port, security: Self.tls(certificates))
        #expect(job.tenantID == TenantDirectory.developmentTenantID)
        await Self.expectRefused("a plaintext client") {
          try await Self.createJob(port: port, security: .plaintext)
        }
      }
    }
  }

  @Test("gRPC with --tls-client-ca: served only with a client certificate signed by that CA")
  func grpcMutualTLS() async throws {
    try await Self.withCertificates { certificates in
      let server = try Self.server(Self.configuration(certificates, clientCA: true))
      try await Self.serving(server) { port in
        await Self.expectRefused("a client without a certificate") {
          try await Self.createJob(port: port, security: Self.tls(certificates))
        }
        await Self.expectRefused("a client with another CA's certificate") {
          let security = Self.tls(
            certificates,
            certificate: certificates.strangerCertificate,
            key: certificates.strangerKey
          )
          return try await Self.createJob(port: port, security: security)
        }
        let security = Self.tls(certificates, certificate: certificates.clientCertificate, key: certificates.clientKey)
        let job = try await Self.createJob(port: port, security: security)
        #expect(job.state == .open)
      }
    }
  }

  /// A curl run: its exit status, the HTTP status (0 when there was no response) and the body.
  struct CurlResult {
    var exit: Int32
    var status: Int
    var body: String

    var object: [String: Any] {
      (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:]
    }
  }

  /// Runs `curl` with `arguments`; blocks the calling thread, so the server must be another
  /// process.
  static func curl(_ arguments: [String], in directory: String) throws -> CurlResult {
    let body = "\(directory)/curl-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: body) }
    let curl = try ExternalCommand.program(named: "curl", debianPackage: "curl")
    let output = try ExternalCommand(
      arguments: [curl, "-sS", "--max-time", "20", "-o", body, "-w", "%{http_code}"] + arguments,
      directory: directory
    ).run()
    return CurlResult(
      exit: output.status,
      status: Int(output.standardOutput) ?? 0,
      body: (try? String(contentsOfFile: body, encoding: .utf8)) ?? ""
    )
  }

  @Test("REST over HTTPS with curl: /healthz, a job, an https:// upload URL that takes the PUT, /metrics's token")
  func restHTTPS() async throws {
    try await Self.withCertificates { certificates in
      let directory = certificates.directory
      let server = try ServerProcess(
        arguments: [
          "--grpc-port", "0", "--http-port", "0", "--data-dir", "\(directory)/data", "--demo",
          "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey,
        ],
        environment: ["SPECTRA_DEV_TOKEN": Self.token, "SPECTRA_METRICS_TOKEN": "scrape-token"]
      )
      let base = "https://127.0.0.1:\(try server.awaitHTTPPort())"
      let trust = ["--cacert", certificates.caCertificate]
      let bearer = ["-H", "Authorization: Bearer \(Self.token)"]

      let health = try Self.curl(trust + ["\(base)/healthz"], in: directory)
      #expect(health.status == 200, "\(health)")
      #expect(health.body == #"{"status":"ok"}"#)
      #expect(try Self.curl(["\(base)/healthz"], in: directory).exit != 0, "curl trusted the server without its CA")
      let plain = try Self.curl(["http://127.0.0.1:\(try server.awaitHTTPPort())/healthz"], in: directory)
      #expect(plain.status == 0, "plain HTTP was answered: \(plain)")

      let created = try Self.curl(
        trust + bearer + [
          "-X", "POST", "-H", "Content-Type: application/json",
          "--data", #"{"operation":"insert","object":"customers"}"#, "\(base)/v1/bulk/jobs",
        ],
        in: directory
      )
      #expect(created.status == 201, "\(created)")
      let jobID = try #require(created.object["job_id"] as? String)

      let signed = try Self.curl(trust + bearer + ["\(base)/v1/bulk/jobs/\(jobID)/upload-url"], in: directory)
      let uploadURL = try #require(signed.object["upload_url"] as? String, "\(signed)")
      #expect(uploadURL.hasPrefix("\(base)/v1/bulk/uploads/"))
      let csv = "\(directory)/rows.csv"
      try Data("id,name,email\n700,Ada,ada@example.com\n".utf8).write(to: URL(fileURLWithPath: csv))
      let put = try Self.curl(
        trust + ["-X", "PUT", "-H", "Content-Type: text/csv", "--data-binary", "@\(csv)", uploadURL],
        in: directory
      )
      #expect(put.status == 200, "\(put)")
      #expect(put.object["bytes_uploaded"] as? Int == 38)

      let anonymous = try Self.curl(trust + ["\(base)/metrics"], in: directory)
      #expect(anonymous.status == 401, "\(anonymous)")
      let wrong = try Self.curl(trust + bearer + ["\(base)/metrics"], in: directory)
      #expect(wrong.status == 401, "\(wrong)")
      let scraped = try Self.curl(
        trust + ["-H", "Authorization: Bearer scrape-token", "\(base)/metrics"],
        in: directory
      )
      #expect(scraped.status == 200, "\(scraped)")
      #expect(scraped.body.contains("spectra_http_requests_total"))
      #expect(server.stop() == 0)
    }
  }

  @Test("REST with mTLS, configured by environment: curl is served only with the CA's client certificate")
  func restMutualTLS() async throws {
    try await Self.withCertificates { certificates in
      let directory = certificates.directory
      let server = try ServerProcess(
        arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", "\(directory)/data"],
        environment: [
          "SPECTRA_DEV_TOKEN": Self.token,
          "SPECTRA_TLS_CERT": certificates.serverCertificate,
          "SPECTRA_TLS_KEY": certificates.serverKey,
          "SPECTRA_TLS_CLIENT_CA": certificates.caCertificate,
        ]
      )
      let health = "https://127.0.0.1:\(try server.awaitHTTPPort())/healthz"
      let trust = ["--cacert", certificates.caCertificate]

      let anonymous = try Self.curl(trust + [health], in: directory)
      #expect(anonymous.exit != 0 && anonymous.status == 0, "served without a client certificate: \(anonymous)")
      let stranger = try Self.curl(
        trust + ["--cert", certificates.strangerCertificate, "--key", certificates.strangerKey, health],
        in: directory
      )
      #expect(stranger.exit != 0 && stranger.status == 0, "served another CA's client: \(stranger)")
      let client = try Self.curl(
        trust + ["--cert", certificates.clientCertificate, "--key", certificates.clientKey, health],
        in: directory
      )
      #expect(client.status == 200, "\(client)")
      #expect(server.stop() == 0)
    }
  }

  @Test("a non-loopback host without TLS is refused, naming the host and both ways out")
  func plaintextRefused() async throws {
    try await Self.withCertificates { certificates in
      let tenants = "\(certificates.directory)/tenants.json"
      let digest = TenantDirectory.digest(of: Self.token).map { String(format: "%02x", $0) }.joined()
      try Data(#"{"tenants":[{"id":"acme","tokens":["sha256:\#(digest)"]}]}"#.utf8)
        .write(to: URL(fileURLWithPath: tenants))
      var configuration = ServerConfiguration()
      configuration.dataDirectory = "\(certificates.directory)/data"
      configuration.host = "0.0.0.0"
      configuration.grpcPort = 0
      configuration.httpPort = 0
      configuration.tenantsFile = tenants

      let error = #expect(throws: BulkError.self) { try Self.server(configuration) }
      let message = error?.message ?? ""
      #expect(message.contains("--host 0.0.0.0"), "\(message)")
      #expect(message.contains("--tls-cert") && message.contains("--tls-key"), "\(message)")
      #expect(message.contains("--allow-plaintext"), "\(message)")

      // Start-up only: nothing is sent to the non-loopback address.
      var plaintext = configuration
      plaintext.allowPlaintext = true
      try await Self.serving(try Self.server(plaintext)) { port in #expect(port > 0) }
      var tls = configuration
      tls.tlsCertificateFile = certificates.serverCertificate
      tls.tlsKeyFile = certificates.serverKey
      try await Self.serving(try Self.server(tls)) { port in #expect(port > 0) }

      let arguments = [
        "--host", "0.0.0.0", "--grpc-port", "0", "--http-port", "0", "--tenants", tenants,
        "--data-dir", "\(certificates.directory)/data",
      ]
      let refused = try ServerProcess(arguments: arguments)
      #expect(refused.waitForExit() != 0)
      let allowed = try ServerProcess(arguments: arguments + ["--allow-plaintext"])
      #expect(try allowed.awaitGRPCPort() > 0)
      #expect(allowed.stop() == 0)
      let allowedByEnvironment = try ServerProcess(arguments: arguments, environment: ["SPECTRA_ALLOW_PLAINTEXT": "1"])
      #expect(try allowedByEnvironment.awaitGRPCPort() > 0)
      #expect(allowedByEnvironment.stop() == 0)
    }
  }

  /// A TLS setting that must stop the start, and what the error must name.
  struct BadSetting: Sendable, CustomTestStringConvertible {
    var name: String
    var configure: @Sendable (inout ServerConfiguration, TestCertificates) -> Void
    var mentions: @Sendable (TestCertificates) -> [String]

    var testDescription: String { self.name }
  }

  static let badSettings: [BadSetting] = [
    BadSetting(
      name: "a certificate without a key",
      configure: { configuration, _ in configuration.tlsKeyFile = nil },
      mentions: { ["--tls-cert", "without --tls-key", $0.serverCertificate] }
    ),
    BadSetting(
      name: "a key without a certificate",
      configure: { configuration, _ in configuration.tlsCertificateFile = nil },
      mentions: { ["--tls-key", "without --tls-cert", $0.serverKey] }
    ),
    BadSetting(
      name: "a client CA without TLS",
      configure: { configuration, certificates in
        configuration.tlsCertificateFile = nil
        configuration.tlsKeyFile = nil
        configuration.tlsClientCAFile = certificates.caCertificate
      },
      mentions: { _ in ["--tls-client-ca", "--tls-cert and --tls-key"] }
    ),
    BadSetting(
      name: "a certificate file that is missing",
      configure: { configuration, certificates in
        configuration.tlsCertificateFile = "\(certificates.directory)/missing.pem"
      },
      mentions: { ["--tls-cert \($0.directory)/missing.pem cannot be read"] }
    ),
    BadSetting(
      name: "a certificate file that holds a key",
      configure: { configuration, certificates in configuration.tlsCertificateFile = certificates.serverKey },
      mentions: { ["--tls-cert \($0.serverKey) holds no PEM certificate"] }
    ),
    BadSetting(
      name: "a key file that holds a certificate",
      configure: { configuration, certificates in configuration.tlsKeyFile = certificates.serverCertificate },
      mentions: { ["--tls-key \($0.serverCertificate) holds no PEM private key"] }
    ),
    BadSetting(
      name: "another certificate's key",
      configure: { configuration, certificates in configuration.tlsKeyFile = certificates.clientKey },
      mentions: { ["--tls-key \($0.clientKey) is not the private key", $0.serverCertificate] }
    ),
    BadSetting(
      name: "a client CA file that holds no certificate",
      configure: { configuration, certificates in configuration.tlsClientCAFile = certificates.clientKey },
      mentions: { ["--tls-client-ca \($0.clientKey) holds no PEM certificate"] }
    ),
  ]

  @Test("TLS flags come in pairs, and a file that cannot be read or parsed stops the start", arguments: badSettings)
  func badSetting(_ setting: BadSetting) async throws {
    try await Self.withCertificates { certificates in
      var configuration = Self.configuration(certificates)
      setting.configure(&configuration, certificates)
      let error = #expect(throws: BulkError.self) { try Self.server(configuration) }
      #expect(error?.code == .invalidArgument)
      for text in setting.mentions(certificates) {
        #expect(error?.message.contains(text) == true, "\(error?.message ?? "")")
      }
      #expect(!FileManager.default.fileExists(atPath: configuration.dataDirectory), "started before refusing")
    }
  }
}
