import BulkS3
import BulkTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

/// Each credential source, the chain's order, refreshing, and retries, against moto and small
/// local HTTP servers standing in for the container endpoint and instance metadata.
@Suite struct S3CredentialTests {
  /// A folder with `files` (name → content), removed afterwards.
  static func withFiles(_ files: [String: String], body: (String) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-s3-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for (name, content) in files { try content.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8) }
    try await body(folder)
  }

  /// Environment that switches instance metadata off, so that no test reaches for 169.254.169.254.
  static let quiet = ["AWS_EC2_METADATA_DISABLED": "true", "HOME": "/nonexistent"]

  @Test func environment() async throws {
    let credentials = try await S3EnvironmentCredentials(
      environment: ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"]
    ).credentials()
    #expect(credentials.accessKeyID == "AKIDENV")
    #expect(credentials.sessionToken == "t")
    let half = S3EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIDENV"])
    let error = try await #require(throws: S3CredentialError.self) { try await half.credentials() }
    #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"))
  }

  @Test func sharedFilesWithProfile() async throws {
    let credentialsFile = """
      [default]
      aws_access_key_id = AKIDDEFAULT
      aws_secret_access_key = default-secret

      [work]
      aws_access_key_id = AKIDWORK
      aws_secret_access_key = work-secret
      """
    let configFile = """
      [default]
      region = eu-west-1

      [profile work]
      region = eu-central-1
      aws_access_key_id = AKIDIGNORED

      [profile config-only]
      aws_access_key_id = AKIDCONFIG
      aws_secret_access_key = config-secret
      aws_session_token = config-token
      """
    try await Self.withFiles(["credentials": credentialsFile, "config": configFile]) { folder in
      var environment = Self.quiet
      environment["AWS_SHARED_CREDENTIALS_FILE"] = "\(folder)/credentials"
      environment["AWS_CONFIG_FILE"] = "\(folder)/config"
      #expect(try await S3ProfileCredentials(environment: environment).credentials().accessKeyID == "AKIDDEFAULT")
      #expect(awsRegion(environment: environment) == "eu-west-1")
      environment["AWS_PROFILE"] = "work"
      #expect(try await S3ProfileCredentials(environment: environment).credentials().accessKeyID == "AKIDWORK")
      #expect(awsRegion(environment: environment) == "eu-central-1")
      environment["AWS_REGION"] = "us-west-2"
      #expect(awsRegion(environment: environment) == "us-west-2")
      environment["AWS_PROFILE"] = "config-only"
      let configOnly = try await S3ProfileCredentials(environment: environment).credentials()
      #expect(configOnly.accessKeyID == "AKIDCONFIG")
      #expect(configOnly.sessionToken == "config-token")
      environment["AWS_PROFILE"] = "absent"
      await #expect(throws: S3CredentialError.notConfigured(source: "profile absent")) {
        try await S3ProfileCredentials(environment: environment).credentials()
      }
    }
  }

  @Test func theChainPrefersTheEnvironmentThenTheFiles() async throws {
    try await Self.withFiles(["credentials": "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = f\n"]) { folder in
      let http = S3HTTPTransport()
      var environment = Self.quiet
      environment["AWS_SHARED_CREDENTIALS_FILE"] = "\(folder)/credentials"
      let fromFile = try await S3CredentialChain.standard(environment: environment, http: http).credentials()
      environment["AWS_ACCESS_KEY_ID"] = "AKIDENV"
      environment["AWS_SECRET_ACCESS_KEY"] = "e"
      let fromEnvironment = try await S3CredentialChain.standard(environment: environment, http: http).credentials()
      let none = try? await S3CredentialChain.standard(environment: Self.quiet, http: http).credentials()
      try await http.shutdown()
      #expect(fromFile.accessKeyID == "AKIDFILE")
      #expect(fromEnvironment.accessKeyID == "AKIDENV")
      #expect(none == nil)
    }
  }

  @Test func webIdentityThroughMotoSTS() async throws {
    // moto wants AssumeRoleWithWebIdentity signed when it checks signatures (AWS does not), so
    // this runs against a moto that checks none.
    let moto = try await MotoServer.launch(authentication: false)
    defer { moto.stop() }
    try await Self.withFiles(["token": "eyJhbGciOiJSUzI1NiJ9.test.token\n"]) { folder in
      let http = S3HTTPTransport()
      var environment = Self.quiet
      environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = "\(folder)/token"
      environment["AWS_ROLE_ARN"] = moto.roleARN
      environment["AWS_ENDPOINT_URL_STS"] = moto.endpoint
      let result = await Result.of { try await S3CredentialChain.standard(environment: environment, http: http).credentials() }
      try await http.shutdown()
      let credentials = try result.get()
      #expect(credentials.source == "web identity")
      #expect(credentials.accessKeyID.hasPrefix("ASIA"))
      #expect(credentials.sessionToken?.isEmpty == false)
      #expect(credentials.expiration != nil)
    }
  }

  /// The JSON of the container endpoint and instance metadata. Without `token` for moto's IAM
  /// user keys, which moto refuses with any session token.
  static func credentialDocument(_ key: String, secret: String, token: String? = "session", expiresIn seconds: TimeInterval = 3600) -> String {
    let expiry = ISO8601DateFormatter().string(from: Date().addingTimeInterval(seconds))
    let tokenField = token.map { #""Token":"\#($0)","# } ?? ""
    return #"{"Code":"Success","AccessKeyId":"\#(key)","SecretAccessKey":"\#(secret)",\#(tokenField)"Expiration":"\#(expiry)"}"#
  }

  @Test func containerEndpointWithAuthorizationToken() async throws {
    let moto = try await MotoServer.shared()
    let server = try await LocalHTTPServer { request in
      guard request.uri == "/creds", request.headers["authorization"] == "Bearer pod-token" else {
        return .init(status: 401)
      }
      return .init(status: 200, body: Self.credentialDocument(moto.accessKeyID, secret: moto.secretAccessKey, token: nil))
    }
    var environment = Self.quiet
    environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "\(server.endpoint)/creds"
    environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer pod-token"
    try await Self.putWithChain(environment: environment, moto: moto, source: "container")
    try await server.stop()
  }

  @Test func instanceMetadataV2() async throws {
    let moto = try await MotoServer.shared()
    let server = try await LocalHTTPServer { request in
      switch (request.method, request.uri) {
      case ("PUT", "/latest/api/token"):
        return request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == nil ? .init(status: 400) : .init(status: 200, body: "imds-token")
      case (_, _) where request.headers["x-aws-ec2-metadata-token"] != "imds-token":
        return .init(status: 401)
      case ("GET", "/latest/meta-data/iam/security-credentials/"):
        return .init(status: 200, body: "spectra-role\n")
      case ("GET", "/latest/meta-data/iam/security-credentials/spectra-role"):
        return .init(status: 200, body: Self.credentialDocument(moto.accessKeyID, secret: moto.secretAccessKey, token: nil))
      default:
        return .init(status: 404)
      }
    }
    var environment = ["HOME": "/nonexistent"]
    environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.endpoint
    try await Self.putWithChain(environment: environment, moto: moto, source: "instance metadata")
    #expect(server.received.first?.method == "PUT")
    try await server.stop()
  }

  /// Resolves the standard chain in `environment`, checks the source, and signs a PutObject to
  /// moto with what it found.
  static func putWithChain(environment: [String: String], moto: MotoServer, source: String) async throws {
    let http = S3HTTPTransport()
    do {
      let chain = S3CredentialChain.standard(environment: environment, http: http)
      #expect(try await chain.credentials().source == source)
      let client = try S3Client(
        configuration: S3Configuration(region: "us-east-1", endpoint: URL(string: moto.endpoint)!),
        credentials: chain,
        http: http
      )
      let bucket = "creds-\(UUID().uuidString.prefix(8).lowercased())"
      try await client.createBucket(bucket)
      try await client.putObject(bucket: bucket, key: "k", body: ByteBuffer(string: source))
    } catch {
      try await http.shutdown()
      throw error
    }
    try await http.shutdown()
  }

  @Test func temporaryCredentialsAreRefreshedOnceBeforeExpiry() async throws {
    let served = Mutex(0)
    let server = try await LocalHTTPServer { _ in
      let count = served.withLock { value in
        value += 1
        return value
      }
      // Expiring within the five-minute margin: every later call must fetch again.
      return .init(status: 200, body: Self.credentialDocument("AKID\(count)", secret: "s", expiresIn: 120))
    }
    let http = S3HTTPTransport()
    let provider = S3RefreshingCredentials(
      S3ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "\(server.endpoint)/c"], http: http)
    )
    let keys = try await withThrowingTaskGroup(of: String.self) { group in
      for _ in 0..<20 { group.addTask { try await provider.credentials().accessKeyID } }
      return try await group.reduce(into: Set<String>()) { $0.insert($1) }
    }
    let later = try await provider.credentials().accessKeyID
    try await http.shutdown()
    try await server.stop()
    #expect(keys == ["AKID1"])
    #expect(later == "AKID2")
    #expect(await provider.fetches == 2)
  }

  @Test func longLivedCredentialsAreCached() async throws {
    let server = try await LocalHTTPServer { _ in .init(status: 200, body: Self.credentialDocument("AKIDLONG", secret: "s")) }
    let http = S3HTTPTransport()
    let provider = S3RefreshingCredentials(
      S3ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "\(server.endpoint)/c"], http: http)
    )
    for _ in 0..<5 { _ = try await provider.credentials() }
    try await http.shutdown()
    try await server.stop()
    #expect(server.received.count == 1)
  }
}

/// Retries, against a local server that answers like a throttled or failing S3.
@Suite struct S3RetryTests {
  static func client(_ server: LocalHTTPServer, http: S3HTTPTransport) throws -> S3Client {
    try S3Client(
      configuration: S3Configuration(
        region: "us-east-1", endpoint: URL(string: server.endpoint)!,
        retry: .init(maxAttempts: 4, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))
      ),
      credentials: S3StaticCredentials(S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "never-printed")),
      http: http
    )
  }

  static let slowDown = """
    <?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>
    """

  @Test func slowDownAndServerErrorsAreRetried() async throws {
    let count = Mutex(0)
    let server = try await LocalHTTPServer { _ in
      let attempt = count.withLock { value in
        value += 1
        return value
      }
      switch attempt {
      case 1: return .init(status: 503, body: Self.slowDown)
      case 2: return .init(status: 500, body: "<Error><Code>InternalError</Code><Message>x</Message></Error>")
      default: return .init(status: 200, headers: [("ETag", "\"abc\"")])
      }
    }
    let http = S3HTTPTransport()
    let result = await Result.of { try await Self.client(server, http: http).putObject(bucket: "b", key: "k", body: ByteBuffer(string: "data")) }
    try await http.shutdown()
    try await server.stop()
    #expect(try result.get().etag == "\"abc\"")
    #expect(server.received.count == 3)
    // The same payload each time, signed anew.
    #expect(Set(server.received.map(\.body)) == ["data"])
  }

  @Test func theLastRefusalIsATypedErrorWithoutSecrets() async throws {
    let server = try await LocalHTTPServer { _ in .init(status: 503, headers: [("x-amz-request-id", "REQ42")], body: Self.slowDown) }
    let http = S3HTTPTransport()
    let result = await Result.of { try await Self.client(server, http: http).getObject(bucket: "b", key: "k") }
    try await http.shutdown()
    try await server.stop()
    let error = try #require(result.failure as? S3Error)
    #expect(error.code == "SlowDown")
    #expect(error.status == 503)
    #expect(error.requestID == "REQ42")
    #expect(error.message == "Please reduce your request rate.")
    #expect(server.received.count == 4)
    #expect(!error.description.contains("never-printed"))
    #expect(!error.description.contains("Signature="))
  }

  @Test func connectionErrorsAreRetriedForIdempotentRequestsOnly() async throws {
    let server = try await LocalHTTPServer { _ in nil }
    let http = S3HTTPTransport()
    let client = try Self.client(server, http: http)
    let get = await Result.of { try await client.getObject(bucket: "b", key: "k") }
    let afterGet = server.received.count
    let create = await Result.of { try await client.createMultipartUpload(bucket: "b", key: "k") }
    try await http.shutdown()
    try await server.stop()
    #expect(get.failure is S3ClientError)
    #expect(create.failure is S3ClientError)
    #expect(afterGet == 4)
    #expect(server.received.count - afterGet == 1)
  }

  /// A part that S3 refuses (not retryable) ends the upload with that error, and the upload is
  /// aborted; parts go out several at a time.
  @Test func aRefusedPartAbortsTheUpload() async throws {
    let server = try await LocalHTTPServer { request in
      switch request.method {
      case "POST":
        return .init(status: 200, body: "<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>")
      case "PUT" where request.uri.contains("partNumber=3&"):
        return .init(status: 400, body: "<Error><Code>InvalidPart</Code><Message>refused</Message></Error>")
      case "PUT":
        return .init(status: 200, headers: [("ETag", "\"e\"")])
      default:
        return .init(status: 204)
      }
    }
    let http = S3HTTPTransport()
    let client = try Self.client(server, http: http)
    let part = ByteBuffer(repeating: 1, count: S3Configuration.minimumPartSize)
    let result = await Result.of { try await client.upload(bucket: "b", key: "k", from: [part, part, part, part].async) }
    try await http.shutdown()
    try await server.stop()
    #expect((result.failure as? S3Error)?.code == "InvalidPart")
    #expect(server.received.contains { $0.method == "DELETE" && $0.uri == "/b/k?uploadId=U1" })
    #expect(!server.received.contains { $0.uri.contains("uploadId=U1") && $0.method == "POST" })
  }

  @Test func configurationBoundsAreNamed() {
    #expect(throws: S3ClientError.self) {
      try S3Configuration(region: "us-east-1", partSize: 1024).validate()
    }
    let error = #expect(throws: S3ClientError.self) { try S3Configuration(region: "us-east-1", partConcurrency: 0).validate() }
    #expect(error?.description.contains("partConcurrency") == true)
  }

  @Test func addressingStyles() async throws {
    let http = S3HTTPTransport()
    let virtual = try S3Client(
      configuration: S3Configuration(region: "eu-west-1"),
      credentials: S3StaticCredentials(S3Credentials(accessKeyID: "a", secretAccessKey: "b")), http: http
    )
    #expect(virtual.location(bucket: "data", key: "a/b c") == ("https://data.s3.eu-west-1.amazonaws.com", "data.s3.eu-west-1.amazonaws.com", "/a/b c"))
    let path = try S3Client(
      configuration: S3Configuration(region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:9000")!),
      credentials: S3StaticCredentials(S3Credentials(accessKeyID: "a", secretAccessKey: "b")), http: http
    )
    #expect(path.location(bucket: "data", key: "k") == ("http://127.0.0.1:9000", "127.0.0.1:9000", "/data/k"))
    try await http.shutdown()
  }
}

extension Result where Failure == any Error {
  /// The result of `body`.
  static func of(_ body: () async throws -> Success) async -> Self {
    do { return .success(try await body()) } catch { return .failure(error) }
  }

  var failure: Failure? {
    if case .failure(let error) = self { return error }
    return nil
  }
}
