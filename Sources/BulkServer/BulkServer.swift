internal import BulkCore
internal import BulkEngine
internal import BulkGRPC
internal import BulkHTTP
internal import BulkPostgres
internal import BulkProto
internal import BulkRedshift
internal import BulkS3
internal import BulkSQLite
internal import Foundation
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
package import Logging
internal import NIOCore
package import Prometheus
internal import ServiceLifecycle
internal import UnixSignals

/// The composition root: configuration in, one `ServiceGroup` running every surface out.
package final class BulkServer: Sendable {
  private let configuration: ServerConfiguration
  private let logger: Logger
  private let grpcServer: GRPCServer<HTTP2ServerTransport.Posix>
  private let engine: JobEngine
  private let http: HTTPSurface
  private let events: any JobEvents
  private let serving: ServingState
  /// The HTTP client of the S3 staging, when the warehouse has one; shut down when `run` ends.
  private let s3Transport: S3HTTPTransport?
  /// This process's claim on the data directory, held for the server's life.
  private let dataDirectoryLock: DataDirectoryLock
  private let announce: @Sendable (String) -> Void

  /// Opens the data directory and the catalog and prepares the surfaces; nothing listens yet.
  ///
  /// - Parameter announce: receives the `… listening on HOST:PORT` lines and the development
  ///   token, for standard output.
  ///   - metrics: where `/metrics` reads from; the process bootstraps swift-metrics with it once.
  package init(
    configuration: ServerConfiguration,
    logger: Logger,
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    announce: @escaping @Sendable (String) -> Void
  ) throws {
    self.configuration = configuration
    self.logger = logger
    self.announce = announce

    let tls = try ServerTLS.load(configuration)
    if tls == nil && !configuration.allowPlaintext && !Self.isLoopback(configuration.host) {
      throw BulkError.invalidArgument(
        "--host \(configuration.host) is not a loopback address: serving it without TLS is refused; "
          + "give --tls-cert and --tls-key, or --allow-plaintext when a proxy in front terminates TLS"
      )
    }
    if let tls {
      logger.info(
        "TLS on both surfaces",
        metadata: ["client_certificates": "\(tls.requiresClientCertificate ? "required" : "not asked for")"]
      )
    }
    let dataDirectory = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true)
    try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
    self.dataDirectoryLock = try DataDirectoryLock(directory: dataDirectory)
    let directory = try Self.tenantDirectory(configuration, logger: logger, announce: announce)
    if configuration.demo {
      try DemoWarehouse.seed(
        directory: dataDirectory.appendingPathComponent("warehouse").path,
        tenantID: TenantDirectory.developmentTenantID
      )
    }
    let catalog = try Self.catalog(configuration.catalog, dataDirectory: dataDirectory)
    // One S3 client for the storage and the Redshift staging, made by the first that needs it,
    // after everything else that can fail here so that nothing fails with it unclosed: the S3
    // storage's own call can fail only before the client is made (an invalid --s3-* setting).
    let s3 = S3Connection(configuration: configuration, logger: logger)
    let localStorage = try configuration.localStorage(dataDirectory: dataDirectory)
    let warehouse = try Self.warehouse(configuration, dataDirectory: dataDirectory, logger: logger, s3: s3.client)
    guard let storage: any JobStorage = try localStorage ?? configuration.s3Storage(s3.client) else {
      throw BulkError(code: .internal, message: "--storage \(configuration.storage.url) is neither local nor S3")
    }
    self.s3Transport = s3.transport
    let staging = SpooledStagingStore(storage: storage, limits: configuration.limits)
    let instanceID = configuration.instanceID ?? Self.defaultInstanceID()
    logger.info("instance", metadata: ["instance_id": "\(instanceID)"])
    let events = Self.events(configuration.catalog, catalog: catalog, instanceID: instanceID, logger: logger)
    self.events = events
    self.serving = ServingState(services: [Spectra_Bulk_V1_BulkService.descriptor.fullyQualifiedService])
    let tenants = Dictionary(directory.tenants.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    self.engine = JobEngine(
      catalog: catalog,
      warehouse: warehouse,
      staging: staging,
      events: events,
      limits: configuration.limits,
      settings: configuration.engine,
      logger: logger,
      tenant: { id in tenants[id] ?? Tenant(id: id) },
      instanceID: instanceID
    )
    let signingKey = try Self.signingKey(in: dataDirectory, catalog: catalog)
    let jobs = JobService(
      catalog: catalog,
      staging: staging,
      processor: self.engine,
      events: events,
      limits: configuration.limits,
      pageTokens: PageToken(secret: signingKey),
      logger: logger
    )

    self.http = HTTPSurface(
      jobs: jobs,
      directory: directory,
      signingKey: signingKey,
      host: configuration.host,
      port: configuration.httpPort,
      publicBaseURL: configuration.publicBaseURL,
      tls: tls?.httpConfiguration,
      metricsToken: configuration.metricsToken,
      metrics: metrics,
      connections: configuration.http,
      logger: logger,
      onListening: { host, port in announce("http listening on \(host):\(port)") }
    )

    let settings = configuration.grpc
    let connectionCap = ConnectionCap(limit: settings.maxConnections)
    let transport = HTTP2ServerTransport.Posix(
      address: configuration.host.contains(":")
        ? .ipv6(host: configuration.host, port: configuration.grpcPort)
        : .ipv4(host: configuration.host, port: configuration.grpcPort),
      transportSecurity: tls?.grpcSecurity ?? .plaintext,
      config: .defaults { config in
        config.http2.maxConcurrentStreams = settings.maxConcurrentStreams
        config.http2.targetWindowSize = settings.targetWindowSize
        config.http2.maxFrameSize = settings.maxFrameSize
        config.rpc.maxRequestPayloadSize = settings.maxMessageSize
        config.connection.maxIdleTime = settings.maxIdleTime
        config.connection.keepalive = .init(
          time: settings.keepaliveTime,
          timeout: settings.keepaliveTimeout,
          clientBehavior: .init(minPingIntervalWithoutCalls: settings.minClientPingInterval, allowWithoutCalls: false)
        )
        config.compression.enabledAlgorithms = .all
        // The transport's only hook on accepted connections: it counts each against the cap.
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(connectionCap.handler(), position: .first)
          }
        }
      }
    )
    self.grpcServer = GRPCServer(
      transport: transport,
      services: [
        BulkService(jobs: jobs, serving: self.serving, logger: logger),
        HealthService(serving: self.serving),
        try ReflectionService(),
        try ReflectionServiceV1Alpha(),
      ],
      interceptors: [
        MetricsInterceptor(),
        AuthInterceptor(
          directory: directory,
          logger: logger,
          openServices: [
            Grpc_Health_V1_Health.descriptor,
            Grpc_Reflection_V1_ServerReflection.descriptor,
            Grpc_Reflection_V1alpha_ServerReflection.descriptor,
          ]
        ),
      ]
    )
  }

  /// The bound gRPC port, once listening (useful with port 0).
  package func grpcPort() async throws -> Int {
    let address = try await self.grpcServer.transport.listeningAddress
    guard let port = address.ipv4?.port ?? address.ipv6?.port else {
      throw BulkError(code: .internal, message: "gRPC is listening on a non-IP address: \(address)")
    }
    return port
  }

  /// Serves until SIGTERM or SIGINT, or until the calling task is cancelled; then drains the
  /// surfaces gracefully and returns within `shutdownGrace`.
  ///
  /// Shutdown, in order: health turns `NOT_SERVING` (gRPC) and 503 (`/healthz`), watches end
  /// with `UNAVAILABLE`, uploads in flight keep what they stored and end with `UNAVAILABLE`, the
  /// gRPC surface refuses new calls, and the engine starts no new chunk. Then the surfaces drain
  /// and the chunks being applied finish. Past four fifths of the grace what is left is cancelled;
  /// at the grace the process ends regardless. Jobs left `InProgress` resume on the next start.
  package func run() async throws {
    // The tenants' stored bytes are known before any upload is taken.
    try await self.engine.measureStorage()
    (self.events as? PostgresJobEvents)?.start()
    let grace = self.configuration.shutdownGrace
    let margin = grace / 5
    let stopping = ShutdownAnnouncer(
      serving: self.serving,
      events: self.events,
      grpcServer: self.grpcServer,
      engine: self.engine,
      drainBudget: grace - margin,
      logger: self.logger
    )
    var configuration = ServiceGroupConfiguration(
      // Shut down in reverse order: the announcer first, then the surfaces drain, then the
      // engine stops.
      services: [
        .init(service: EngineService(engine: self.engine), successTerminationBehavior: .gracefullyShutdownGroup),
        .init(
          service: GRPCSurface(server: self.grpcServer, serving: self.serving),
          successTerminationBehavior: .gracefullyShutdownGroup
        ),
        .init(service: self.http, successTerminationBehavior: .gracefullyShutdownGroup),
        .init(service: stopping, successTerminationBehavior: .gracefullyShutdownGroup),
      ],
      gracefulShutdownSignals: [.sigterm, .sigint],
      logger: self.logger
    )
    configuration.maximumGracefulShutdownDuration = grace - margin
    // The last resort: a service that ignores cancellation is ended with the process.
    configuration.maximumCancellationDuration = margin
    let group = ServiceGroup(configuration: configuration)
    do {
      try await withThrowingDiscardingTaskGroup { tasks in
        tasks.addTask { try await group.run() }
        let port = try await self.grpcPort()
        self.announce("grpc listening on \(self.configuration.host):\(port)")
      }
    } catch {
      try? await self.s3Transport?.shutdown()
      throw error
    }
    try await self.s3Transport?.shutdown()
  }

  /// The key that signs upload URLs and seals page tokens, kept so both survive a restart: in a
  /// shared PostgreSQL catalog, so that a URL or token one instance issued works on every
  /// instance behind the load balancer; otherwise in the data directory.
  private static func signingKey(in dataDirectory: URL, catalog: any JobCatalog) throws -> [UInt8] {
    if let shared = catalog as? PostgresJobCatalog {
      return try shared.sharedKey(named: "upload-signing", make: HTTPSurface.makeSigningKey)
    }
    let url = dataDirectory.appendingPathComponent("upload-signing.key")
    if let key = try? Data(contentsOf: url), key.count >= 32 {
      return Array(key)
    }
    let key = HTTPSurface.makeSigningKey()
    try PrivateFile.write(key, to: url.path)
    return key
  }

  /// Connections to a PostgreSQL catalog: each API call and each engine step holds one for a
  /// single short transaction.
  private static let catalogConnections = 8

  /// How watchers hear of changes: within this process on the embedded catalog; through the
  /// shared PostgreSQL catalog's `NOTIFY`, so that every instance's watchers see every
  /// instance's work, on a PostgreSQL one (which `run` starts listening).
  /// This instance's name when `--instance-id` gives none: the host, the process and a random
  /// suffix, so that a restarted process is a new holder and operators can tell where it ran.
  private static func defaultInstanceID() -> String {
    let host = ProcessInfo.processInfo.hostName.prefix(40).map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") ? $0 : "_" }
    return "\(String(host))-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8).lowercased())"
  }

  private static func events(
    _ setting: CatalogSetting,
    catalog: any JobCatalog,
    instanceID: String,
    logger: Logger
  ) -> any JobEvents {
    switch setting {
    case .sqlite:
      InProcessJobEvents()
    case .postgres(let url):
      PostgresJobEvents(url: url, instanceID: instanceID, logger: logger) { id, tenantID in
        try await catalog.job(id: id, tenantID: tenantID)
      }
    }
  }

  /// The job catalog the configuration names.
  private static func catalog(_ setting: CatalogSetting, dataDirectory: URL) throws -> any JobCatalog {
    switch setting {
    case .sqlite(let path):
      try SQLiteJobCatalog(path: path ?? dataDirectory.appendingPathComponent("catalog.sqlite").path)
    case .postgres(let url):
      try PostgresJobCatalog(url: url, poolSize: Self.catalogConnections)
    }
  }

  /// The warehouse; a Redshift one stages through the client `s3` makes.
  private static func warehouse(
    _ configuration: ServerConfiguration,
    dataDirectory: URL,
    logger: Logger,
    s3: () throws -> S3Client
  ) throws -> any Warehouse {
    guard let url = configuration.warehouseURL, !url.isEmpty else {
      guard configuration.redshift.s3Prefix == nil else {
        throw BulkError.invalidArgument("--redshift-s3-prefix is for a redshift:// warehouse")
      }
      return try SQLiteWarehouse(directory: dataDirectory.appendingPathComponent("warehouse").path)
    }
    guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") || url.hasPrefix("redshift://") else {
      throw BulkError.invalidArgument("--warehouse must be a postgresql:// or redshift:// URL")
    }
    // Each worker holds a connection while it applies a chunk; two more serve describe calls.
    let base = PostgresWarehouse(
      url: url,
      poolSize: configuration.engine.workers + 2,
      queryRoleDirectory: dataDirectory.appendingPathComponent("query-roles").path,
      logger: logger
    )
    guard base.dialect == .redshift else {
      guard configuration.redshift.s3Prefix == nil else {
        throw BulkError.invalidArgument("--redshift-s3-prefix is for a redshift:// warehouse")
      }
      return base
    }
    let staging = try configuration.redshiftStaging()
    return RedshiftWarehouse(base: base, staging: staging, s3: try s3(), logger: logger)
  }

  private static func tenantDirectory(
    _ configuration: ServerConfiguration,
    logger: Logger,
    announce: @Sendable (String) -> Void
  ) throws -> TenantDirectory {
    if let path = configuration.tenantsFile {
      let (directory, warnings) = try TenantDirectory.load(contentsOf: URL(fileURLWithPath: path))
      for warning in warnings {
        logger.warning("\(warning)")
      }
      return directory
    }
    guard Self.isLoopback(configuration.host) else {
      throw BulkError.invalidArgument(
        "--host \(configuration.host) is not a loopback address: serving other hosts needs --tenants"
      )
    }
    if let token = configuration.developmentToken, !token.isEmpty {
      return .development(token: token)
    }
    let token = Self.randomToken()
    announce("development tenant \(TenantDirectory.developmentTenantID), token: \(token)")
    return .development(token: token)
  }

  private static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }

  private static func randomToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0 ..< 32).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255, using: &generator)) }.joined()
  }
}

/// The engine as a lifecycle service: it stops on graceful shutdown, after the surfaces have
/// drained, once the chunks being applied have finished (see `JobEngine.run()`).
private struct EngineService: Service {
  let engine: JobEngine

  func run() async throws {
    try await cancelWhenGracefulShutdown {
      try await self.engine.run()
    }
  }
}

/// The first service to hear of graceful shutdown (the last in the group): it tells everything
/// that the server is stopping at once, before the surfaces drain one after the other.
private struct ShutdownAnnouncer: Service {
  let serving: ServingState
  let events: any JobEvents
  let grpcServer: GRPCServer<HTTP2ServerTransport.Posix>
  let engine: JobEngine
  /// How long the drain may take before what is left is cancelled.
  let drainBudget: Duration
  let logger: Logger

  func run() async throws {
    // Cancellation (a failed service) stops the server too.
    try? await gracefulShutdown()
    self.logger.notice("shutting down", metadata: ["drain_seconds": "\(self.drainBudget.components.seconds)"])
    self.engine.stopStartingChunks(drainUntil: .now.advanced(by: self.drainBudget))
    self.serving.stopServing()
    self.events.stop()
    self.grpcServer.beginGracefulShutdown()
  }
}

/// The gRPC server as a lifecycle service: graceful shutdown stops accepting calls and lets
/// the running ones finish.
private struct GRPCSurface: Service {
  let server: GRPCServer<HTTP2ServerTransport.Posix>
  let serving: ServingState

  func run() async throws {
    try await withGracefulShutdownHandler {
      try await self.server.serve()
    } onGracefulShutdown: {
      self.server.beginGracefulShutdown()
    }
    // `ShutdownAnnouncer` begins the drain before this service's turn comes, and a service that
    // ends before its turn fails the group: wait for the turn.
    if self.serving.isStopping {
      try? await gracefulShutdown()
    }
  }
}
