package import BulkCore
package import Foundation
package import Hummingbird
internal import HummingbirdCore
internal import HummingbirdTLS
package import Logging
internal import Metrics
internal import NIOCore
package import NIOSSL
package import Prometheus
internal import ServiceLifecycle

/// The REST/JSON surface of API.md §2 on Hummingbird 2: the seed's curl workflow, signed upload
/// URLs, `/healthz`, `/metrics`, `/v1/openapi.json` and the job console at `/console/`, on the
/// same `JobService` and `TenantDirectory` as gRPC.
///
/// It is a lifecycle `Service`: add it to the composition root's `ServiceGroup`. Graceful
/// shutdown turns `/healthz` to 503, stops accepting connections and lets running requests end.
package struct HTTPSurface: Service, CustomStringConvertible {
  private let jobs: JobService
  private let directory: TenantDirectory
  private let signer: UploadURLSigner
  private let host: String
  private let port: Int
  private let publicBaseURL: String?
  private let tls: TLSConfiguration?
  private let metricsToken: String?
  private let uploadURLLifetime: Duration
  private let resultBufferSize: Int
  private let registry: PrometheusCollectorRegistry
  private let logger: Logger
  private let onListening: @Sendable (String, Int) -> Void
  private let now: @Sendable () -> Date
  private let connections: HTTPConnectionSettings
  private let state = SurfaceState()

  /// - Parameters:
  ///   - signingKey: the HMAC key of upload URLs (`makeSigningKey()` for a random one; URLs then
  ///     stop working at restart). Must not be empty.
  ///   - host, port: where to listen; port 0 picks a free port.
  ///   - publicBaseURL: `scheme://host[:port]` that upload URLs start with, for a proxy in front;
  ///     without it they use the `Host` the client sent.
  ///   - tls: serve HTTPS with this configuration (upload URLs then start with `https://`);
  ///     plain HTTP when `nil`.
  ///   - metricsToken: the bearer token `GET /metrics` needs; open to all when `nil`.
  ///   - uploadURLLifetime: how long an upload URL stays valid.
  ///   - resultBufferSize: bytes of results a download holds before its response starts (see
  ///     `ResultsController`); it bounds the memory of each download.
  ///   - metrics: the registry `/metrics` serves; the surface records its request metrics in it.
  ///     Pass the one from `bootstrapMetrics()`; the default, a registry of its own, is for tests.
  ///   - connections: timeouts and the cap on open connections.
  ///   - onListening: called with the host and the bound port once the server listens.
  ///   - now: the clock of upload URL expiry.
  package init(
    jobs: JobService,
    directory: TenantDirectory,
    signingKey: [UInt8],
    host: String,
    port: Int,
    publicBaseURL: String? = nil,
    tls: TLSConfiguration? = nil,
    metricsToken: String? = nil,
    uploadURLLifetime: Duration = .seconds(3600),
    resultBufferSize: Int = 8 << 20,
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    connections: HTTPConnectionSettings = HTTPConnectionSettings(),
    logger: Logger,
    onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in },
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    precondition(!signingKey.isEmpty, "the upload URL signing key must not be empty")
    self.jobs = jobs
    self.directory = directory
    self.signer = UploadURLSigner(key: signingKey)
    self.host = host
    self.port = port
    self.publicBaseURL = publicBaseURL
    self.tls = tls
    self.metricsToken = metricsToken
    self.uploadURLLifetime = uploadURLLifetime
    self.resultBufferSize = resultBufferSize
    self.registry = metrics
    self.connections = connections
    self.logger = logger
    self.onListening = onListening
    self.now = now
  }

  /// Where it listens, and nothing more: ServiceLifecycle logs its services' descriptions, and
  /// the reflected default would print the metrics token.
  package var description: String { "HTTPSurface(\(self.host):\(self.port))" }

  /// A random 32-byte key for signing upload URLs.
  package static func makeSigningKey() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
  }

  /// Creates the process's Prometheus registry and bootstraps swift-metrics with it, so engine
  /// metrics and this surface's share one `/metrics`. Call once, in the composition root,
  /// before anything records a metric; pass the registry to `init(…metrics:…)`.
  package static func bootstrapMetrics() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
  }

  /// The routes, for the application and for tests through HummingbirdTesting's `.router`.
  ///
  /// Every job route is under `/v1/bulk/jobs` and `/bulk/jobs` behind bearer authentication;
  /// upload URLs (`/v1/bulk/uploads/{id}`, `/bulk/uploads/{id}`) carry their own signature.
  package func router() -> Router<BulkRequestContext> {
    let router = Router(context: BulkRequestContext.self)
    // Metrics first, so they see the status the error middleware answered with.
    router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory(registry: self.registry)))
    router.add(middleware: RequestLogMiddleware(logger: self.logger))
    router.add(middleware: RESTErrorMiddleware(logger: self.logger))
    let jobsController = JobsController(
      jobs: self.jobs,
      signer: self.signer,
      uploadURLLifetime: self.uploadURLLifetime,
      publicBaseURL: self.publicBaseURL,
      scheme: self.tls == nil ? "http" : "https",
      host: self.host,
      state: self.state,
      now: self.now
    )
    let resultsController = ResultsController(
      jobs: self.jobs,
      bufferSize: self.resultBufferSize,
      logger: self.logger
    )
    let uploadController = UploadController(
      jobs: self.jobs,
      directory: self.directory,
      signer: self.signer,
      now: self.now,
      logger: self.logger
    )
    for prefix in ["/v1/bulk", "/bulk"] {
      let jobs = router.group("\(prefix)/jobs")
        .add(middleware: TenantAuthMiddleware(directory: self.directory, logger: self.logger))
      jobsController.addRoutes(to: jobs)
      resultsController.addRoutes(to: jobs)
      uploadController.addRoutes(to: router.group("\(prefix)/uploads"))
    }
    let registry = self.registry
    OperationsController(
      exposition: { registry.emitToBuffer() },
      state: self.state,
      metricsTokenDigest: self.metricsToken.map(OperationsController.digest)
    ).addRoutes(to: router)
    ConsoleController().addRoutes(to: router)
    // Last: a middleware added after every route wraps only the not-found responder.
    router.add(
      middleware: MethodNotAllowedMiddleware(routes: router.routes.map { ($0.method.rawValue, "\($0.path)") })
    )
    return router
  }

  /// The Hummingbird application serving `router()` on `host:port`, over TLS when configured.
  package func application() throws -> Application<RouterResponder<BulkRequestContext>> {
    let host = self.host
    let state = self.state
    let onListening = self.onListening
    let settings = self.connections
    let cap = ConnectionCap(limit: settings.maxConnections)
    let http1 = HTTPServerBuilder.http1(
      configuration: .init(
        additionalChannelHandlers: [
          cap.handler(), ExpectContinueHandler(), IdleStateHandler(allTimeout: TimeAmount(settings.idleTimeout)),
          IdleConnectionCloser(),
        ],
        // Hummingbird's idle timeout runs while a request is awaited or read: a head (or the
        // next part of a body) that does not arrive within it closes the connection.
        idleTimeout: TimeAmount(settings.headerTimeout)
      )
    )
    return Application(
      router: self.router(),
      server: try self.tls.map { try .tls(http1, tlsConfiguration: $0) } ?? http1,
      configuration: ApplicationConfiguration(address: .hostname(host, port: self.port)),
      onServerRunning: { channel in
        let port = channel.localAddress?.port ?? 0
        state.listening(on: port)
        onListening(host, port)
      },
      logger: self.logger
    )
  }

  /// Serves until graceful shutdown (or cancellation), then drains the running requests.
  package func run() async throws {
    let application = try self.application()
    try await withGracefulShutdownHandler {
      try await application.run()
    } onGracefulShutdown: {
      self.state.beginShutdown()
    }
  }
}

/// Timeouts and the connection cap of the REST surface.
package struct HTTPConnectionSettings: Hashable, Sendable {
  /// A connection must deliver a request's whole head, and each next part of its body, within
  /// this of the connection's opening, the previous response or the previous part; otherwise it
  /// is closed (slow-header clients, idle keep-alive connections, stalled uploads).
  package var headerTimeout: Duration = .seconds(30)
  /// A connection on which nothing is read or written for this long is closed (a client that
  /// stopped reading its download).
  package var idleTimeout: Duration = .seconds(120)
  /// Connections open at once; the ones past it are closed when accepted.
  package var maxConnections: Int = 512

  package init() {}
}
