internal import ArgumentParser
internal import BulkCore
internal import BulkEngine
internal import BulkHTTP
internal import BulkServer
internal import Foundation
internal import Logging
internal import Testing

@testable internal import SpectraBulkCLI

/// How `spectra-bulk serve` resolves each setting: its flag, else its environment variable, else
/// the default, with the flag names, variable names and defaults the server has always had.
@Suite("spectra-bulk serve: flags, environment and defaults")
struct ServeTests {
  /// One setting: what it reads as by default, from its variable, and from its flag (which wins
  /// over the variable).
  struct Setting: Sendable, CustomTestStringConvertible {
    let flag: [String]?
    let variable: String
    let defaultValue: String
    let environment: (text: String, value: String)
    let flagValue: String
    let read: @Sendable (ServerConfiguration) -> String

    var testDescription: String { self.flag?.first ?? self.variable }

    /// A setting whose flag and variable texts read back as given.
    init(
      _ flag: String?,
      _ variable: String,
      default defaultValue: String,
      flag flagText: String,
      environment: String,
      read: @escaping @Sendable (ServerConfiguration) -> String
    ) {
      self.init(
        flag.map { [$0, flagText] },
        variable,
        default: defaultValue,
        flagValue: flagText,
        environment: (environment, environment),
        read: read
      )
    }

    init(
      _ flag: [String]?,
      _ variable: String,
      default defaultValue: String,
      flagValue: String,
      environment: (text: String, value: String),
      read: @escaping @Sendable (ServerConfiguration) -> String
    ) {
      self.flag = flag
      self.variable = variable
      self.defaultValue = defaultValue
      self.environment = environment
      self.flagValue = flagValue
      self.read = read
    }
  }

  static let settings: [Setting] = [
    Setting("--data-dir", "SPECTRA_DATA_DIR", default: "./.spectra", flag: "/f", environment: "/e") {
      $0.dataDirectory
    },
    Setting("--host", "SPECTRA_HOST", default: "127.0.0.1", flag: "::1", environment: "0.0.0.0") { $0.host },
    Setting("--grpc-port", "SPECTRA_GRPC_PORT", default: "50051", flag: "1", environment: "2") { "\($0.grpcPort)" },
    Setting("--http-port", "SPECTRA_HTTP_PORT", default: "8080", flag: "3", environment: "4") { "\($0.httpPort)" },
    Setting("--public-url", "SPECTRA_PUBLIC_URL", default: "nil", flag: "https://f", environment: "https://e") {
      $0.publicBaseURL ?? "nil"
    },
    Setting("--tenants", "SPECTRA_TENANTS", default: "nil", flag: "f.json", environment: "e.json") {
      $0.tenantsFile ?? "nil"
    },
    Setting(nil, "SPECTRA_DEV_TOKEN", default: "nil", flag: "", environment: "t") { $0.developmentToken ?? "nil" },
    Setting("--tls-cert", "SPECTRA_TLS_CERT", default: "nil", flag: "f.pem", environment: "e.pem") {
      $0.tlsCertificateFile ?? "nil"
    },
    Setting("--tls-key", "SPECTRA_TLS_KEY", default: "nil", flag: "f.key", environment: "e.key") {
      $0.tlsKeyFile ?? "nil"
    },
    Setting("--tls-client-ca", "SPECTRA_TLS_CLIENT_CA", default: "nil", flag: "f.ca", environment: "e.ca") {
      $0.tlsClientCAFile ?? "nil"
    },
    Setting(
      ["--allow-plaintext"],
      "SPECTRA_ALLOW_PLAINTEXT",
      default: "false",
      flagValue: "true",
      environment: ("true", "true")
    ) {
      "\($0.allowPlaintext)"
    },
    Setting("--metrics-token", "SPECTRA_METRICS_TOKEN", default: "nil", flag: "f", environment: "e") {
      $0.metricsToken ?? "nil"
    },
    Setting(["--demo"], "SPECTRA_DEMO", default: "false", flagValue: "true", environment: ("1", "true")) {
      "\($0.demo)"
    },
    Setting(
      "--grpc-max-concurrent-streams",
      "SPECTRA_GRPC_MAX_CONCURRENT_STREAMS",
      default: "100",
      flag: "5",
      environment: "6"
    ) {
      "\($0.grpc.maxConcurrentStreams)"
    },
    Setting("--grpc-window-size", "SPECTRA_GRPC_WINDOW_SIZE", default: "4194304", flag: "65535", environment: "1048576")
    {
      "\($0.grpc.targetWindowSize)"
    },
    Setting(
      "--grpc-max-frame-size",
      "SPECTRA_GRPC_MAX_FRAME_SIZE",
      default: "262144",
      flag: "16384",
      environment: "32768"
    ) {
      "\($0.grpc.maxFrameSize)"
    },
    Setting("--grpc-max-connections", "SPECTRA_GRPC_MAX_CONNECTIONS", default: "512", flag: "7", environment: "8") {
      "\($0.grpc.maxConnections)"
    },
    Setting("--http-max-connections", "SPECTRA_HTTP_MAX_CONNECTIONS", default: "512", flag: "9", environment: "10") {
      "\($0.http.maxConnections)"
    },
    Setting(
      ["--http-header-timeout", "1.5"],
      "SPECTRA_HTTP_HEADER_TIMEOUT",
      default: "30000",
      flagValue: "1500",
      environment: ("2", "2000")
    ) {
      "\($0.http.headerTimeout.inMilliseconds)"
    },
    Setting(
      ["--http-idle-timeout", "3"],
      "SPECTRA_HTTP_IDLE_TIMEOUT",
      default: "120000",
      flagValue: "3000",
      environment: ("0.25", "250")
    ) {
      "\($0.http.idleTimeout.inMilliseconds)"
    },
    Setting("--max-active-jobs", "SPECTRA_MAX_ACTIVE_JOBS", default: "1000", flag: "11", environment: "12") {
      "\($0.limits.maxActiveJobsPerTenant)"
    },
    Setting("--max-upload-bytes", "SPECTRA_MAX_UPLOAD_BYTES", default: "1073741824", flag: "13", environment: "14") {
      "\($0.limits.maxUploadBytes)"
    },
    Setting("--max-inflated-bytes", "SPECTRA_MAX_INFLATED_BYTES", default: "17179869184", flag: "15", environment: "16")
    {
      "\($0.limits.maxInflatedBytes)"
    },
    Setting("--max-tenant-bytes", "SPECTRA_MAX_TENANT_BYTES", default: "107374182400", flag: "17", environment: "18") {
      "\($0.limits.maxTenantBytes)"
    },
    Setting("--min-free-bytes", "SPECTRA_MIN_FREE_BYTES", default: "1073741824", flag: "0", environment: "19") {
      "\($0.limits.minFreeBytes)"
    },
    Setting(
      "--max-query-result-bytes",
      "SPECTRA_MAX_QUERY_RESULT_BYTES",
      default: "10737418240",
      flag: "20",
      environment: "21"
    ) {
      "\($0.limits.maxQueryResultBytes)"
    },
    Setting("--max-query-bytes", "SPECTRA_MAX_QUERY_BYTES", default: "100000", flag: "22", environment: "23") {
      "\($0.limits.maxQueryBytes)"
    },
    Setting("--max-columns", "SPECTRA_MAX_COLUMNS", default: "4096", flag: "24", environment: "25") {
      "\($0.limits.maxColumns)"
    },
    Setting("--max-value-bytes", "SPECTRA_MAX_VALUE_BYTES", default: "16777216", flag: "26", environment: "27") {
      "\($0.limits.maxValueBytes)"
    },
    Setting(
      ["--catalog", "postgresql://f/db"],
      "SPECTRA_CATALOG",
      default: "sqlite(path: nil)",
      flagValue: "postgres(url: \"postgresql://f/db\")",
      environment: ("sqlite:/e/catalog.sqlite", "sqlite(path: Optional(\"/e/catalog.sqlite\"))")
    ) { "\($0.catalog)" },
    Setting("--warehouse", "SPECTRA_WAREHOUSE", default: "nil", flag: "postgresql://f", environment: "redshift://e") {
      $0.warehouseURL ?? "nil"
    },
    Setting("--redshift-s3-prefix", "SPECTRA_REDSHIFT_S3_PREFIX", default: "nil", flag: "s3://f/p", environment: "s3://e") {
      $0.redshift.s3Prefix ?? "nil"
    },
    Setting(
      "--redshift-iam-role", "SPECTRA_REDSHIFT_IAM_ROLE", default: "nil", flag: "arn:aws:iam::1:role/f",
      environment: "arn:aws:iam::1:role/e"
    ) { $0.redshift.iamRole ?? "nil" },
    Setting(nil, "SPECTRA_REDSHIFT_ACCESS_KEY_ID", default: "nil", flag: "", environment: "AKID") {
      $0.redshift.accessKeyID ?? "nil"
    },
    Setting(nil, "SPECTRA_REDSHIFT_SECRET_ACCESS_KEY", default: "nil", flag: "", environment: "secret") {
      $0.redshift.secretAccessKey ?? "nil"
    },
    Setting(nil, "SPECTRA_REDSHIFT_SESSION_TOKEN", default: "nil", flag: "", environment: "token") {
      $0.redshift.sessionToken ?? "nil"
    },
    Setting("--redshift-slices", "SPECTRA_REDSHIFT_SLICES", default: "nil", flag: "8", environment: "16") {
      $0.redshift.slices.map(String.init) ?? "nil"
    },
    Setting("--storage", "SPECTRA_STORAGE", default: "local", flag: "s3://bucket/deploy/one", environment: "s3://other") {
      $0.storage.url
    },
    Setting("--s3-region", "SPECTRA_S3_REGION", default: "nil", flag: "eu-west-1", environment: "us-west-2") {
      $0.s3.region ?? "nil"
    },
    Setting("--s3-endpoint", "SPECTRA_S3_ENDPOINT", default: "nil", flag: "http://127.0.0.1:9000", environment: "https://s3.example") {
      $0.s3.endpoint ?? "nil"
    },
    Setting("--s3-addressing", "SPECTRA_S3_ADDRESSING", default: "nil", flag: "path", environment: "virtual") {
      $0.s3.addressing ?? "nil"
    },
    Setting("--s3-sse", "SPECTRA_S3_SSE", default: "nil", flag: "AES256", environment: "aws:kms") { $0.s3.encryption ?? "nil" },
    Setting("--s3-kms-key-id", "SPECTRA_S3_KMS_KEY_ID", default: "nil", flag: "key-f", environment: "key-e") {
      $0.s3.kmsKeyID ?? "nil"
    },
    Setting(
      "--workers",
      "SPECTRA_WORKERS",
      default: "\(max(1, ProcessInfo.processInfo.activeProcessorCount))",
      flag: "28",
      environment: "29"
    ) { "\($0.engine.workers)" },
    Setting("--chunk-budget", "SPECTRA_CHUNK_BUDGET", default: "nil", flag: "30", environment: "31") {
      $0.engine.chunkBudget.map { "\($0)" } ?? "nil"
    },
    Setting("--max-queries", "SPECTRA_MAX_QUERIES", default: "nil", flag: "32", environment: "33") {
      $0.engine.maxQueries.map { "\($0)" } ?? "nil"
    },
    Setting("--max-tenant-queries", "SPECTRA_MAX_TENANT_QUERIES", default: "2", flag: "34", environment: "35") {
      "\($0.engine.maxTenantQueries)"
    },
    Setting("--chunk-records", "SPECTRA_CHUNK_RECORDS", default: "10000", flag: "36", environment: "37") {
      "\($0.engine.chunkRecords)"
    },
    Setting(
      ["--query-timeout", "4"],
      "SPECTRA_QUERY_TIMEOUT",
      default: "3600000",
      flagValue: "4000",
      environment: ("5", "5000")
    ) {
      "\($0.engine.queryTimeout.inMilliseconds)"
    },
    Setting(
      ["--shutdown-grace", "6"],
      "SPECTRA_SHUTDOWN_GRACE",
      default: "25000",
      flagValue: "6000",
      environment: ("7.5", "7500")
    ) {
      "\($0.shutdownGrace.inMilliseconds)"
    },
    Setting(
      ["--job-lifetime", "2h"],
      "SPECTRA_JOB_LIFETIME",
      default: "86400",
      flagValue: "7200",
      environment: ("3m", "180")
    ) {
      "\($0.engine.maxJobAge.components.seconds)"
    },
    Setting(
      ["--retention", "1d"],
      "SPECTRA_RETENTION",
      default: "604800",
      flagValue: "86400",
      environment: ("90", "90")
    ) {
      "\($0.engine.retention.components.seconds)"
    },
    Setting(
      ["--lease-duration", "2s"],
      "SPECTRA_LEASE_DURATION",
      default: "30",
      flagValue: "2",
      environment: ("1m", "60")
    ) {
      "\($0.engine.leaseDuration.components.seconds)"
    },
    Setting("--instance-id", "SPECTRA_INSTANCE_ID", default: "nil", flag: "web-1", environment: "pod_7.b") {
      $0.instanceID ?? "nil"
    },
    Setting("--log-level", "SPECTRA_LOG_LEVEL", default: "info", flag: "debug", environment: "error") {
      $0.logLevel.rawValue
    },
    Setting("--log-format", "SPECTRA_LOG_FORMAT", default: "nil", flag: "json", environment: "text") {
      $0.logFormat?.rawValue ?? "nil"
    },
  ]

  static func configuration(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ServerConfiguration
  {
    try Serve.parse(arguments).configuration(environment: environment)
  }

  @Test("each setting: its flag, else its environment variable, else the default", arguments: Self.settings)
  func resolves(_ setting: Setting) throws {
    #expect(setting.read(try Self.configuration([])) == setting.defaultValue)
    let environment = [setting.variable: setting.environment.text]
    #expect(setting.read(try Self.configuration([], environment)) == setting.environment.value)
    if let flag = setting.flag {
      #expect(setting.read(try Self.configuration(flag, environment)) == setting.flagValue)
    }
  }

  @Test("the table has all 56 settings, each with a variable of its own")
  func everyVariable() {
    let variables = Set(Self.settings.map(\.variable))
    #expect(variables.count == Self.settings.count)
    #expect(variables.count == 56)
  }

  @Test(
    "out-of-range values, given or from the environment, are refused naming the flag",
    arguments: [
      (["--grpc-port", "70000"], [:], "--grpc-port must be 0 to 65535"),
      ([], ["SPECTRA_GRPC_PORT": "70000"], "--grpc-port must be 0 to 65535"),
      (["--grpc-window-size", "1"], [:], "--grpc-window-size must be 65535 to 2147483647"),
      (["--grpc-max-frame-size", "1"], [:], "--grpc-max-frame-size must be 16384 to 16777215"),
      (["--http-header-timeout", "0"], [:], "--http-header-timeout must be positive"),
      (["--max-upload-bytes", "0"], [:], "--max-upload-bytes must be positive"),
      (["--min-free-bytes=-1"], [:], "--min-free-bytes must not be negative"),
      ([], ["SPECTRA_WORKERS": "0"], "--workers must be at least 1"),
      ([], ["SPECTRA_CHUNK_BUDGET": "0"], "--chunk-budget must be at least 1"),
      (["--max-queries", "0"], [:], "--max-queries must be at least 1"),
      (["--max-tenant-queries", "0"], [:], "--max-tenant-queries must be at least 1"),
      (["--shutdown-grace", "0.5"], [:], "--shutdown-grace must be at least 1 second"),
      (["--shutdown-grace", "0"], [:], "--shutdown-grace must be at least 1 second"),
      ([], ["SPECTRA_METRICS_TOKEN": ""], "--metrics-token must not be empty"),
      ([], ["SPECTRA_LOG_LEVEL": "loud"], "--log-level loud is not a level"),
      ([], ["SPECTRA_LOG_FORMAT": "xml"], "--log-format xml is not text or json"),
      (["--catalog", "mysql://h/db"], [:], "--catalog must be a postgresql://… URL or sqlite:PATH"),
      (["--instance-id", "a b"], [:], "--instance-id must be 1 to 64 letters, digits, '-', '_' or '.'"),
      ([], ["SPECTRA_LEASE_DURATION": "0"], "--lease-duration '0' is not a duration: give seconds (86400) or a whole number with s, m, h or d (24h, 7d)"),
      (["--redshift-s3-prefix", "bucket/prefix"], [:], "--redshift-s3-prefix must be an s3://bucket/prefix URL"),
      ([], ["SPECTRA_REDSHIFT_IAM_ROLE": "MyRole"], "--redshift-iam-role must be a role ARN (arn:aws:iam::…:role/…)"),
      (["--redshift-slices", "0"], [:], "--redshift-slices must be at least 1"),
      (["--s3-addressing", "dns"], [:], "--s3-addressing must be path or virtual"),
      (["--s3-sse", "kms"], [:], "--s3-sse must be AES256 or aws:kms"),
      (["--s3-endpoint", "s3.example"], [:], "--s3-endpoint must be an http:// or https:// URL"),
      (
        ["--retention", "7 days"], [:],
        "--retention '7 days' is not a duration: give seconds (86400) or a whole number with s, m, h or d (24h, 7d)"
      ),
    ] as [([String], [String: String], String)]
  )
  func refused(arguments: [String], environment: [String: String], message: String) {
    do {
      _ = try Self.configuration(arguments, environment)
      Issue.record("\(arguments) \(environment) was accepted")
    } catch let error as BulkError {
      #expect(error.message == message)
    } catch {
      #expect(Serve.message(for: error) == message)
    }
  }

  @Test("a variable that is not a number leaves the default, and a flag wins over a bad variable")
  func unreadableVariables() throws {
    #expect(try Self.configuration([], ["SPECTRA_GRPC_PORT": "fifty"]).grpcPort == 50051)
    let lifetime = try Self.configuration(["--job-lifetime", "1h"], ["SPECTRA_JOB_LIFETIME": "bogus"])
    #expect(lifetime.engine.maxJobAge == .seconds(3600))
    #expect(try Self.configuration([], ["SPECTRA_DEMO": "yes"]).demo == false)
  }

  @Test("the lifetimes set how often they are enforced")
  func reapInterval() throws {
    let short = try Self.configuration(["--job-lifetime", "2"], ["SPECTRA_RETENTION": "30"])
    #expect(short.engine.reapInterval == .milliseconds(200))
    #expect(try Self.configuration([]).engine.reapInterval == .seconds(60))
  }

  @Test("--help shows the defaults of the configuration")
  func helpDefaults() {
    let help = Serve.helpMessage(columns: 1000)
    for shown in ["(default: 50051)", "(default: ./.spectra)", "(default: 30.0)", "(default: 24h)", "(default: 7d)"] {
      #expect(help.contains(shown), "\(shown)")
    }
  }
}
