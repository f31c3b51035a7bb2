internal import ArgumentParser
internal import BulkCore
internal import BulkEngine
internal import BulkHTTP
internal import BulkServer
internal import Foundation
internal import Logging

/// `spectra-bulk serve`: runs the server until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the server. Every flag can also be set as SPECTRA_<FLAG> (e.g. SPECTRA_DATA_DIR)."
  )

  private static let environment = ProcessInfo.processInfo.environment

  @Option(help: "Catalog, staging and results; created if missing.")
  var dataDir: String = Self.environment["SPECTRA_DATA_DIR"] ?? "./.spectra"

  @Option(help: "Listen address of both surfaces.")
  var host: String = Self.environment["SPECTRA_HOST"] ?? "127.0.0.1"

  @Option(help: "gRPC port; 0 picks a free port.")
  var grpcPort: Int = Self.environment["SPECTRA_GRPC_PORT"].flatMap { Int($0) } ?? 50051

  @Option(help: "REST/JSON port; 0 picks a free port.")
  var httpPort: Int = Self.environment["SPECTRA_HTTP_PORT"].flatMap { Int($0) } ?? 8080

  @Option(
    help:
      "Base URL (scheme://host:port) of the REST surface as clients reach it, for upload URLs behind a proxy. [env: SPECTRA_PUBLIC_URL]"
  )
  var publicURL: String?

  @Option(help: "Tenants file (JSON); without it one development tenant, tenant-123, is served. [env: SPECTRA_TENANTS]")
  var tenants: String?

  @Option(
    help:
      "PEM certificate chain; with --tls-key, both surfaces serve TLS (gRPC over TLS, HTTPS). [env: SPECTRA_TLS_CERT]"
  )
  var tlsCert: String?

  @Option(help: "PEM private key of --tls-cert. [env: SPECTRA_TLS_KEY]")
  var tlsKey: String?

  @Option(
    name: .customLong("tls-client-ca"),
    help:
      "PEM CA certificates; clients must then present a certificate signed by one (mTLS). [env: SPECTRA_TLS_CLIENT_CA]"
  )
  var tlsClientCA: String?

  @Flag(
    help:
      "Allow a non-loopback --host without TLS, e.g. behind a proxy that terminates TLS. [env: SPECTRA_ALLOW_PLAINTEXT=1]"
  )
  var allowPlaintext: Bool = false

  @Option(help: "Bearer token GET /metrics then needs; without it /metrics is open. [env: SPECTRA_METRICS_TOKEN]")
  var metricsToken: String?

  @Flag(help: "Create tables customers and sales with a few rows for tenant-123 (quickstart).")
  var demo: Bool = Self.environment["SPECTRA_DEMO"] == "1" || Self.environment["SPECTRA_DEMO"] == "true"

  @Option(help: "Most streams (calls) open at once on one gRPC connection.")
  var grpcMaxConcurrentStreams: Int = Self.environment["SPECTRA_GRPC_MAX_CONCURRENT_STREAMS"].flatMap { Int($0) } ?? 100

  @Option(help: "HTTP/2 flow-control window in bytes for gRPC.")
  var grpcWindowSize: Int = Self.environment["SPECTRA_GRPC_WINDOW_SIZE"].flatMap { Int($0) } ?? 4 << 20

  @Option(help: "Largest HTTP/2 frame in bytes the gRPC surface accepts (16384 to 16777215).")
  var grpcMaxFrameSize: Int = Self.environment["SPECTRA_GRPC_MAX_FRAME_SIZE"].flatMap { Int($0) } ?? 256 << 10

  @Option(help: "gRPC connections open at once; the ones past it are closed when accepted.")
  var grpcMaxConnections: Int = Self.environment["SPECTRA_GRPC_MAX_CONNECTIONS"].flatMap { Int($0) } ?? 512

  @Option(help: "REST connections open at once; the ones past it are closed when accepted.")
  var httpMaxConnections: Int = Self.environment["SPECTRA_HTTP_MAX_CONNECTIONS"].flatMap { Int($0) } ?? 512

  @Option(
    help:
      "Seconds a REST connection may take to send a request's head (or the next part of its body), from its opening or the previous response."
  )
  var httpHeaderTimeout: Double = Self.environment["SPECTRA_HTTP_HEADER_TIMEOUT"].flatMap { Double($0) } ?? 30

  @Option(help: "Seconds a REST connection may go without reading or writing a byte before it is closed.")
  var httpIdleTimeout: Double = Self.environment["SPECTRA_HTTP_IDLE_TIMEOUT"].flatMap { Double($0) } ?? 120

  @Option(help: "Unfinished jobs a tenant may have at once.")
  var maxActiveJobs: Int = Self.environment["SPECTRA_MAX_ACTIVE_JOBS"].flatMap { Int($0) } ?? 1000

  @Option(help: "Bytes one job may upload, as sent (compressed for gzip jobs).")
  var maxUploadBytes: Int64 = Self.environment["SPECTRA_MAX_UPLOAD_BYTES"].flatMap { Int64($0) } ?? 1 << 30

  @Option(help: "Bytes a gzip upload may inflate to; the inflated-to-compressed ratio is also capped at 100.")
  var maxInflatedBytes: Int64 = Self.environment["SPECTRA_MAX_INFLATED_BYTES"].flatMap { Int64($0) } ?? 16 << 30

  @Option(help: "Bytes of uploads and results one tenant may keep stored, finished jobs included.")
  var maxTenantBytes: Int64 = Self.environment["SPECTRA_MAX_TENANT_BYTES"].flatMap { Int64($0) } ?? 100 << 30

  @Option(help: "Free bytes the data directory keeps; below them uploads and new result files are refused.")
  var minFreeBytes: Int64 = Self.environment["SPECTRA_MIN_FREE_BYTES"].flatMap { Int64($0) } ?? 1 << 30

  @Option(help: "Bytes of results one query job may write; past them the job fails.")
  var maxQueryResultBytes: Int64 = Self.environment["SPECTRA_MAX_QUERY_RESULT_BYTES"].flatMap { Int64($0) } ?? 10 << 30

  @Option(help: "UTF-8 bytes of a query job's SQL.")
  var maxQueryBytes: Int = Self.environment["SPECTRA_MAX_QUERY_BYTES"].flatMap { Int($0) } ?? 100_000

  @Option(help: "Columns an upload may name (a CSV header, records.columns, the first JSON record's keys).")
  var maxColumns: Int = Self.environment["SPECTRA_MAX_COLUMNS"].flatMap { Int($0) } ?? 4096

  @Option(help: "Bytes of one uploaded value; a record with a longer one fails with VALUE_TOO_LARGE.")
  var maxValueBytes: Int = Self.environment["SPECTRA_MAX_VALUE_BYTES"].flatMap { Int($0) } ?? 16 << 20

  @Option(
    help:
      "postgresql://… or redshift://… to use that warehouse; the embedded SQLite warehouse when absent. [env: SPECTRA_WAREHOUSE]"
  )
  var warehouse: String?

  @Option(help: "Chunk workers shared by all jobs; defaults to the number of cores. [env: SPECTRA_WORKERS]")
  var workers: Int?

  @Option(
    help:
      "Chunks read, parsed and checked at once across all jobs (the memory budget for records waiting for the warehouse); defaults to twice the workers. [env: SPECTRA_CHUNK_BUDGET]"
  )
  var chunkBudget: Int?

  @Option(
    help:
      "Query jobs run at once across all tenants, apart from the chunk workers; defaults to the workers, at least 2. [env: SPECTRA_MAX_QUERIES]"
  )
  var maxQueries: Int?

  @Option(help: "Query jobs of one tenant run at once. [env: SPECTRA_MAX_TENANT_QUERIES]")
  var maxTenantQueries: Int = Self.environment["SPECTRA_MAX_TENANT_QUERIES"].flatMap { Int($0) } ?? 2

  @Option(help: "Records per chunk.")
  var chunkRecords: Int = Self.environment["SPECTRA_CHUNK_RECORDS"].flatMap { Int($0) } ?? 10_000

  @Option(help: "Seconds a query job's statement may run before it is cancelled. [env: SPECTRA_QUERY_TIMEOUT]")
  var queryTimeout: Double = Self.environment["SPECTRA_QUERY_TIMEOUT"].flatMap { Double($0) } ?? 3600

  @Option(
    help:
      "Seconds SIGTERM or SIGINT may take before the process exits; calls and chunks still running then are cut. [env: SPECTRA_SHUTDOWN_GRACE]"
  )
  var shutdownGrace: Double = Self.environment["SPECTRA_SHUTDOWN_GRACE"].flatMap { Double($0) } ?? 25

  @Option(
    help:
      "How long a job may stay unfinished before it fails: seconds, or a number with s, m, h or d (24h). [env: SPECTRA_JOB_LIFETIME]"
  )
  var jobLifetime: String = Self.environment["SPECTRA_JOB_LIFETIME"] ?? "24h"

  @Option(
    help:
      "How long a finished job is kept, with its data and results, after its last change: seconds, or a number with s, m, h or d (7d). [env: SPECTRA_RETENTION]"
  )
  var retention: String = Self.environment["SPECTRA_RETENTION"] ?? "7d"

  @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
  var logLevel: String = Self.environment["SPECTRA_LOG_LEVEL"] ?? "info"

  @Option(
    help:
      "Log lines as text or json (one JSON object a line); text when standard error is a terminal, json otherwise. [env: SPECTRA_LOG_FORMAT]"
  )
  var logFormat: String?

  func validate() throws {
    guard (0 ... 65535).contains(self.grpcPort) else { throw ValidationError("--grpc-port must be 0 to 65535") }
    guard self.grpcMaxConcurrentStreams > 0 else {
      throw ValidationError("--grpc-max-concurrent-streams must be positive")
    }
    guard (16384 ... 16_777_215).contains(self.grpcMaxFrameSize) else {
      throw ValidationError("--grpc-max-frame-size must be 16384 to 16777215")
    }
    guard (65535 ... (1 << 31) - 1).contains(self.grpcWindowSize) else {
      throw ValidationError("--grpc-window-size must be 65535 to 2147483647")
    }
    guard self.grpcMaxConnections > 0 else { throw ValidationError("--grpc-max-connections must be positive") }
    guard self.httpMaxConnections > 0 else { throw ValidationError("--http-max-connections must be positive") }
    guard self.httpHeaderTimeout > 0 else { throw ValidationError("--http-header-timeout must be positive") }
    guard self.httpIdleTimeout > 0 else { throw ValidationError("--http-idle-timeout must be positive") }
    guard self.maxUploadBytes > 0 else { throw ValidationError("--max-upload-bytes must be positive") }
    guard self.maxInflatedBytes > 0 else { throw ValidationError("--max-inflated-bytes must be positive") }
    guard self.maxTenantBytes > 0 else { throw ValidationError("--max-tenant-bytes must be positive") }
    guard self.minFreeBytes >= 0 else { throw ValidationError("--min-free-bytes must not be negative") }
    guard self.maxQueryResultBytes > 0 else { throw ValidationError("--max-query-result-bytes must be positive") }
    guard self.maxQueryBytes > 0 else { throw ValidationError("--max-query-bytes must be positive") }
    guard self.maxColumns > 0 else { throw ValidationError("--max-columns must be positive") }
    guard self.maxValueBytes > 0 else { throw ValidationError("--max-value-bytes must be positive") }
    if let workers = self.workers ?? Self.environment["SPECTRA_WORKERS"].flatMap({ Int($0) }), workers < 1 {
      throw ValidationError("--workers must be at least 1")
    }
    if let budget = self.chunkBudget ?? Self.environment["SPECTRA_CHUNK_BUDGET"].flatMap({ Int($0) }), budget < 1 {
      throw ValidationError("--chunk-budget must be at least 1")
    }
    if let queries = self.maxQueries ?? Self.environment["SPECTRA_MAX_QUERIES"].flatMap({ Int($0) }), queries < 1 {
      throw ValidationError("--max-queries must be at least 1")
    }
    guard self.maxTenantQueries > 0 else { throw ValidationError("--max-tenant-queries must be at least 1") }
    guard self.chunkRecords > 0 else { throw ValidationError("--chunk-records must be positive") }
    guard self.queryTimeout > 0 else { throw ValidationError("--query-timeout must be positive") }
    guard self.shutdownGrace >= 1 else { throw ValidationError("--shutdown-grace must be at least 1 second") }
    guard self.maxActiveJobs > 0 else { throw ValidationError("--max-active-jobs must be positive") }
    if let token = self.metricsToken ?? Self.environment["SPECTRA_METRICS_TOKEN"], token.isEmpty {
      throw ValidationError("--metrics-token must not be empty")
    }
    for (setting, text) in [("--job-lifetime", self.jobLifetime), ("--retention", self.retention)] {
      do {
        _ = try ServerConfiguration.duration(text, setting: setting)
      } catch {
        throw ValidationError(error.message)
      }
    }
    guard Logger.Level(rawValue: self.logLevel) != nil else {
      throw ValidationError("--log-level \(self.logLevel) is not a level")
    }
    if let format = self.logFormat ?? Self.environment["SPECTRA_LOG_FORMAT"], LogFormat(rawValue: format) == nil {
      throw ValidationError("--log-format \(format) is not text or json")
    }
  }

  func run() async throws {
    let level = Logger.Level(rawValue: self.logLevel) ?? .info
    let format =
      (self.logFormat ?? Self.environment["SPECTRA_LOG_FORMAT"]).flatMap(LogFormat.init(rawValue:))
      ?? .standardErrorDefault
    LoggingSystem.bootstrap { label in
      LogLineHandler(label: label, format: format, level: level)
    }
    let logger = Logger(label: "spectra.bulk")

    var configuration = ServerConfiguration()
    configuration.dataDirectory = self.dataDir
    configuration.host = self.host
    configuration.grpcPort = self.grpcPort
    configuration.httpPort = self.httpPort
    configuration.publicBaseURL = self.publicURL ?? Self.environment["SPECTRA_PUBLIC_URL"]
    configuration.tenantsFile = self.tenants ?? Self.environment["SPECTRA_TENANTS"]
    configuration.developmentToken = Self.environment["SPECTRA_DEV_TOKEN"]
    configuration.demo = self.demo
    configuration.tlsCertificateFile = self.tlsCert ?? Self.environment["SPECTRA_TLS_CERT"]
    configuration.tlsKeyFile = self.tlsKey ?? Self.environment["SPECTRA_TLS_KEY"]
    configuration.tlsClientCAFile = self.tlsClientCA ?? Self.environment["SPECTRA_TLS_CLIENT_CA"]
    // The environment is read here: a flag whose default is true fails ArgumentParser's validation.
    configuration.allowPlaintext =
      self.allowPlaintext || ["1", "true"].contains(Self.environment["SPECTRA_ALLOW_PLAINTEXT"] ?? "")
    configuration.metricsToken = self.metricsToken ?? Self.environment["SPECTRA_METRICS_TOKEN"]
    configuration.limits.maxActiveJobsPerTenant = self.maxActiveJobs
    configuration.limits.maxUploadBytes = self.maxUploadBytes
    configuration.limits.maxInflatedBytes = self.maxInflatedBytes
    configuration.limits.maxTenantBytes = self.maxTenantBytes
    configuration.limits.minFreeBytes = self.minFreeBytes
    configuration.limits.maxQueryResultBytes = self.maxQueryResultBytes
    configuration.limits.maxQueryBytes = self.maxQueryBytes
    configuration.limits.maxColumns = self.maxColumns
    configuration.limits.maxValueBytes = self.maxValueBytes
    configuration.warehouseURL = self.warehouse ?? Self.environment["SPECTRA_WAREHOUSE"]
    if let workers = self.workers ?? Self.environment["SPECTRA_WORKERS"].flatMap({ Int($0) }) {
      configuration.engine.workers = workers
    }
    configuration.engine.chunkBudget =
      self.chunkBudget ?? Self.environment["SPECTRA_CHUNK_BUDGET"].flatMap { Int($0) }
    configuration.engine.maxQueries = self.maxQueries ?? Self.environment["SPECTRA_MAX_QUERIES"].flatMap { Int($0) }
    configuration.engine.maxTenantQueries = self.maxTenantQueries
    configuration.engine.chunkRecords = self.chunkRecords
    configuration.engine.queryTimeout = .milliseconds(Int64(self.queryTimeout * 1000))
    configuration.shutdownGrace = .milliseconds(Int64(self.shutdownGrace * 1000))
    configuration.grpc.maxConcurrentStreams = self.grpcMaxConcurrentStreams
    configuration.grpc.targetWindowSize = self.grpcWindowSize
    configuration.grpc.maxFrameSize = self.grpcMaxFrameSize
    configuration.grpc.maxConnections = self.grpcMaxConnections
    configuration.http.maxConnections = self.httpMaxConnections
    configuration.http.headerTimeout = .milliseconds(Int64(self.httpHeaderTimeout * 1000))
    configuration.http.idleTimeout = .milliseconds(Int64(self.httpIdleTimeout * 1000))
    configuration.setLifetimes(
      jobLifetime: try ServerConfiguration.duration(self.jobLifetime, setting: "--job-lifetime"),
      retention: try ServerConfiguration.duration(self.retention, setting: "--retention")
    )

    let server = try BulkServer(configuration: configuration, logger: logger, metrics: HTTPSurface.bootstrapMetrics()) {
      line in
      // Unbuffered, so that a script reading the port sees the line at once.
      FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
    try await server.run()
  }
}
