internal import ArgumentParser
internal import BulkCore
internal import BulkServer
internal import Foundation
internal import Logging

/// `spectra-bulk serve`: runs the server until SIGTERM or SIGINT.
///
/// Each flag maps onto one `ServerSetting`; the defaults, the environment variables and the
/// checks are BulkServer's (`ServerConfigurationResolver`).
struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the server. Every flag can also be set as SPECTRA_<FLAG> (e.g. SPECTRA_DATA_DIR)."
  )

  @Option(help: Self.help("Catalog, staging and results; created if missing.", ServerSetting.dataDirectory))
  var dataDir: String?

  @Option(help: Self.help("Listen address of both surfaces.", ServerSetting.host))
  var host: String?

  @Option(help: Self.help("gRPC port; 0 picks a free port.", ServerSetting.grpcPort))
  var grpcPort: Int?

  @Option(help: Self.help("REST/JSON port; 0 picks a free port.", ServerSetting.httpPort))
  var httpPort: Int?

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

  // Switches read their variable in the resolver: a flag whose default is true fails
  // ArgumentParser's validation.
  @Flag(
    help:
      "Allow a non-loopback --host without TLS, e.g. behind a proxy that terminates TLS. [env: SPECTRA_ALLOW_PLAINTEXT=1]"
  )
  var allowPlaintext: Bool = false

  @Option(help: "Bearer token GET /metrics then needs; without it /metrics is open. [env: SPECTRA_METRICS_TOKEN]")
  var metricsToken: String?

  @Flag(help: "Create tables customers and sales with a few rows for tenant-123 (quickstart).")
  var demo: Bool = false

  @Option(
    help: Self.help("Most streams (calls) open at once on one gRPC connection.", ServerSetting.grpcMaxConcurrentStreams)
  )
  var grpcMaxConcurrentStreams: Int?

  @Option(help: Self.help("HTTP/2 flow-control window in bytes for gRPC.", ServerSetting.grpcWindowSize))
  var grpcWindowSize: Int?

  @Option(
    help: Self.help(
      "Largest HTTP/2 frame in bytes the gRPC surface accepts (16384 to 16777215).",
      ServerSetting.grpcMaxFrameSize
    )
  )
  var grpcMaxFrameSize: Int?

  @Option(
    help: Self.help(
      "gRPC connections open at once; the ones past it are closed when accepted.",
      ServerSetting.grpcMaxConnections
    )
  )
  var grpcMaxConnections: Int?

  @Option(
    help: Self.help(
      "REST connections open at once; the ones past it are closed when accepted.",
      ServerSetting.httpMaxConnections
    )
  )
  var httpMaxConnections: Int?

  @Option(
    help: Self.help(
      "Seconds a REST connection may take to send a request's head (or the next part of its body), from its opening or the previous response.",
      ServerSetting.httpHeaderTimeout
    )
  )
  var httpHeaderTimeout: Double?

  @Option(
    help: Self.help(
      "Seconds a REST connection may go without reading or writing a byte before it is closed.",
      ServerSetting.httpIdleTimeout
    )
  )
  var httpIdleTimeout: Double?

  @Option(help: Self.help("Unfinished jobs a tenant may have at once.", ServerSetting.maxActiveJobs))
  var maxActiveJobs: Int?

  @Option(
    help: Self.help("Bytes one job may upload, as sent (compressed for gzip jobs).", ServerSetting.maxUploadBytes)
  )
  var maxUploadBytes: Int64?

  @Option(
    help: Self.help(
      "Bytes a gzip upload may inflate to; the inflated-to-compressed ratio is also capped at 100.",
      ServerSetting.maxInflatedBytes
    )
  )
  var maxInflatedBytes: Int64?

  @Option(
    help: Self.help(
      "Bytes of uploads and results one tenant may keep stored, finished jobs included.",
      ServerSetting.maxTenantBytes
    )
  )
  var maxTenantBytes: Int64?

  @Option(
    help: Self.help(
      "Free bytes the data directory keeps; below them uploads and new result files are refused.",
      ServerSetting.minFreeBytes
    )
  )
  var minFreeBytes: Int64?

  @Option(
    help: Self.help(
      "Bytes of results one query job may write; past them the job fails.",
      ServerSetting.maxQueryResultBytes
    )
  )
  var maxQueryResultBytes: Int64?

  @Option(help: Self.help("UTF-8 bytes of a query job's SQL.", ServerSetting.maxQueryBytes))
  var maxQueryBytes: Int?

  @Option(
    help: Self.help(
      "Columns an upload may name (a CSV header, records.columns, the first JSON record's keys).",
      ServerSetting.maxColumns
    )
  )
  var maxColumns: Int?

  @Option(
    help: Self.help(
      "Bytes of one uploaded value; a record with a longer one fails with VALUE_TOO_LARGE.",
      ServerSetting.maxValueBytes
    )
  )
  var maxValueBytes: Int?

  @Option(
    help:
      "postgresql://… to keep the job catalog in PostgreSQL (schema spectra), which several instances may share; sqlite:PATH for an SQLite file; the data directory's catalog.sqlite when absent. [env: SPECTRA_CATALOG]"
  )
  var catalog: String?

  @Option(
    help: Self.help(
      "With a shared catalog: how long a job's or a chunk's lease lasts unless its instance renews it (every third of it); an instance that dies has its work taken over about this long after. Seconds, or a number with s, m or h. [env: SPECTRA_LEASE_DURATION]",
      ServerSetting.leaseDuration
    )
  )
  var leaseDuration: String?

  @Option(
    help:
      "The name this instance's leases and finished chunks are recorded under in a shared catalog: 1 to 64 letters, digits, '-', '_' or '.'; the host name, process id and a random suffix when absent. [env: SPECTRA_INSTANCE_ID]"
  )
  var instanceId: String?

  @Option(
    help:
      "postgresql://… or redshift://… to use that warehouse; the embedded SQLite warehouse when absent. [env: SPECTRA_WAREHOUSE]"
  )
  var warehouse: String?

  @Option(
    help:
      "s3://bucket/prefix to keep uploads, checkpoints and results in S3 (shared by instances), with the --s3-* settings; local (the data directory) when absent. [env: SPECTRA_STORAGE]"
  )
  var storage: String?

  @Option(
    help:
      "s3://bucket/prefix where a redshift:// warehouse stages loads (gzip CSV for COPY) and exports (UNLOAD). [env: SPECTRA_REDSHIFT_S3_PREFIX]"
  )
  var redshiftS3Prefix: String?

  @Option(
    help:
      "The IAM role (arn:aws:iam::…:role/…) Redshift assumes for COPY and UNLOAD; or set SPECTRA_REDSHIFT_ACCESS_KEY_ID and SPECTRA_REDSHIFT_SECRET_ACCESS_KEY (and SPECTRA_REDSHIFT_SESSION_TOKEN) for COPY … CREDENTIALS. [env: SPECTRA_REDSHIFT_IAM_ROLE]"
  )
  var redshiftIamRole: String?

  @Option(help: "The Redshift cluster's slices, which a chunk's objects come in multiples of; asked of the cluster when absent. [env: SPECTRA_REDSHIFT_SLICES]")
  var redshiftSlices: Int?

  @Option(help: "The S3 region; AWS_REGION, else us-east-1, when absent. [env: SPECTRA_S3_REGION]")
  var s3Region: String?

  @Option(help: "An S3-compatible store's URL (e.g. http://127.0.0.1:9000); AWS's regional endpoint when absent. [env: SPECTRA_S3_ENDPOINT]")
  var s3Endpoint: String?

  @Option(help: "path or virtual; path-style with --s3-endpoint, virtual-hosted without, when absent. [env: SPECTRA_S3_ADDRESSING]")
  var s3Addressing: String?

  @Option(help: "Server-side encryption of staged objects: AES256 or aws:kms; the bucket's default when absent. [env: SPECTRA_S3_SSE]")
  var s3Sse: String?

  @Option(help: "The KMS key id or ARN of --s3-sse aws:kms; the account's default key when absent. [env: SPECTRA_S3_KMS_KEY_ID]")
  var s3KmsKeyId: String?

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

  @Option(
    help: Self.help(
      "Query jobs of one tenant run at once. [env: SPECTRA_MAX_TENANT_QUERIES]",
      ServerSetting.maxTenantQueries
    )
  )
  var maxTenantQueries: Int?

  @Option(help: Self.help("Records per chunk.", ServerSetting.chunkRecords))
  var chunkRecords: Int?

  @Option(
    help: Self.help(
      "Seconds a query job's statement may run before it is cancelled. [env: SPECTRA_QUERY_TIMEOUT]",
      ServerSetting.queryTimeout
    )
  )
  var queryTimeout: Double?

  @Option(
    help: Self.help(
      "Seconds SIGTERM or SIGINT may take before the process exits; calls and chunks still running then are cut. [env: SPECTRA_SHUTDOWN_GRACE]",
      ServerSetting.shutdownGrace
    )
  )
  var shutdownGrace: Double?

  @Option(
    help: Self.help(
      "How long a job may stay unfinished before it fails: seconds, or a number with s, m, h or d (24h). [env: SPECTRA_JOB_LIFETIME]",
      ServerSetting.jobLifetime
    )
  )
  var jobLifetime: String?

  @Option(
    help: Self.help(
      "How long a finished job is kept, with its data and results, after its last change: seconds, or a number with s, m, h or d (7d). [env: SPECTRA_RETENTION]",
      ServerSetting.retention
    )
  )
  var retention: String?

  @Option(
    help: Self.help("Log level: trace, debug, info, notice, warning, error or critical.", ServerSetting.logLevel)
  )
  var logLevel: String?

  @Option(
    help:
      "Log lines as text or json (one JSON object a line); text when standard error is a terminal, json otherwise. [env: SPECTRA_LOG_FORMAT]"
  )
  var logFormat: String?

  func validate() throws {
    do {
      _ = try self.configuration(environment: ProcessInfo.processInfo.environment)
    } catch {
      throw ValidationError(error.message)
    }
  }

  /// The flags mapped onto the server's settings, over `environment` and the defaults; checked
  /// in the order the flags were always checked, so the first fault reported stays the same.
  ///
  /// - Throws: `INVALID_ARGUMENT` naming the first flag whose value (given or from the
  ///   environment) is out of range.
  func configuration(environment: [String: String]) throws(BulkError) -> ServerConfiguration {
    var settings = ServerConfigurationResolver(environment: environment)
    try settings.set(.grpcPort, self.grpcPort)
    try settings.set(.grpcMaxConcurrentStreams, self.grpcMaxConcurrentStreams)
    try settings.set(.grpcMaxFrameSize, self.grpcMaxFrameSize)
    try settings.set(.grpcWindowSize, self.grpcWindowSize)
    try settings.set(.grpcMaxConnections, self.grpcMaxConnections)
    try settings.set(.httpMaxConnections, self.httpMaxConnections)
    try settings.set(.httpHeaderTimeout, self.httpHeaderTimeout)
    try settings.set(.httpIdleTimeout, self.httpIdleTimeout)
    try settings.set(.maxUploadBytes, self.maxUploadBytes)
    try settings.set(.maxInflatedBytes, self.maxInflatedBytes)
    try settings.set(.maxTenantBytes, self.maxTenantBytes)
    try settings.set(.minFreeBytes, self.minFreeBytes)
    try settings.set(.maxQueryResultBytes, self.maxQueryResultBytes)
    try settings.set(.maxQueryBytes, self.maxQueryBytes)
    try settings.set(.maxColumns, self.maxColumns)
    try settings.set(.maxValueBytes, self.maxValueBytes)
    try settings.set(.workers, self.workers)
    try settings.set(.chunkBudget, self.chunkBudget)
    try settings.set(.maxQueries, self.maxQueries)
    try settings.set(.maxTenantQueries, self.maxTenantQueries)
    try settings.set(.chunkRecords, self.chunkRecords)
    try settings.set(.queryTimeout, self.queryTimeout)
    try settings.set(.shutdownGrace, self.shutdownGrace)
    try settings.set(.maxActiveJobs, self.maxActiveJobs)
    try settings.set(.metricsToken, self.metricsToken)
    try settings.set(.jobLifetime, self.jobLifetime)
    try settings.set(.retention, self.retention)
    try settings.set(.logLevel, self.logLevel)
    try settings.set(.logFormat, self.logFormat)
    try settings.set(.dataDirectory, self.dataDir)
    try settings.set(.host, self.host)
    try settings.set(.httpPort, self.httpPort)
    try settings.set(.publicURL, self.publicURL)
    try settings.set(.tenants, self.tenants)
    try settings.set(.developmentToken, nil)
    try settings.set(.demo, given: self.demo)
    try settings.set(.tlsCertificate, self.tlsCert)
    try settings.set(.tlsKey, self.tlsKey)
    try settings.set(.tlsClientCA, self.tlsClientCA)
    try settings.set(.allowPlaintext, given: self.allowPlaintext)
    try settings.set(.catalog, self.catalog)
    try settings.set(.leaseDuration, self.leaseDuration)
    try settings.set(.instanceID, self.instanceId)
    try settings.set(.warehouse, self.warehouse)
    try settings.set(.storage, self.storage)
    try settings.set(.redshiftS3Prefix, self.redshiftS3Prefix)
    try settings.set(.redshiftIAMRole, self.redshiftIamRole)
    try settings.set(.redshiftAccessKeyID, nil)
    try settings.set(.redshiftSecretAccessKey, nil)
    try settings.set(.redshiftSessionToken, nil)
    try settings.set(.redshiftSlices, self.redshiftSlices)
    try settings.set(.s3Region, self.s3Region)
    try settings.set(.s3Endpoint, self.s3Endpoint)
    try settings.set(.s3Addressing, self.s3Addressing)
    try settings.set(.s3Encryption, self.s3Sse)
    try settings.set(.s3KMSKeyID, self.s3KmsKeyId)
    return settings.configuration
  }

  func run() async throws {
    let configuration = try self.configuration(environment: ProcessInfo.processInfo.environment)
    let format = configuration.logFormat ?? .standardErrorDefault
    LoggingSystem.bootstrap { label in
      LogLineHandler(label: label, format: format, level: configuration.logLevel)
    }
    let logger = Logger(label: "spectra.bulk")
    let server = try BulkServer(configuration: configuration, logger: logger, metrics: BulkServer.bootstrapMetrics()) {
      line in
      // Unbuffered, so that a script reading the port sees the line at once.
      FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
    try await server.run()
  }

  /// `text` with the setting's default, as ArgumentParser shows a default.
  private static func help<Value>(_ text: String, _ setting: ServerSetting<Value>) -> ArgumentHelp {
    ArgumentHelp(setting.defaultDescription.map { "\(text) (default: \($0))" } ?? text)
  }
}
