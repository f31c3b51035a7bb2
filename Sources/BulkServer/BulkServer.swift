internal import BulkCore
internal import BulkGRPC
internal import BulkSQLite
internal import Foundation
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
package import Logging
internal import ServiceLifecycle
internal import UnixSignals

/// The composition root: configuration in, one `ServiceGroup` running every surface out.
package final class BulkServer: Sendable {
  private let configuration: ServerConfiguration
  private let logger: Logger
  private let grpcServer: GRPCServer<HTTP2ServerTransport.Posix>
  private let announce: @Sendable (String) -> Void

  /// Opens the data directory and the catalog and prepares the surfaces; nothing listens yet.
  ///
  /// - Parameter announce: receives the `… listening on HOST:PORT` lines and the development
  ///   token, for standard output.
  package init(
    configuration: ServerConfiguration,
    logger: Logger,
    announce: @escaping @Sendable (String) -> Void
  ) throws {
    self.configuration = configuration
    self.logger = logger
    self.announce = announce

    let dataDirectory = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true)
    try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
    let directory = try Self.tenantDirectory(configuration, logger: logger, announce: announce)
    if configuration.demo {
      try DemoWarehouse.seed(
        directory: dataDirectory.appendingPathComponent("warehouse").path,
        tenantID: TenantDirectory.developmentTenantID
      )
    }
    let catalog = try SQLiteJobCatalog(path: dataDirectory.appendingPathComponent("catalog.sqlite").path)
    let jobs = JobService(catalog: catalog, limits: configuration.limits, logger: logger)

    let settings = configuration.grpc
    let transport = HTTP2ServerTransport.Posix(
      address: configuration.host.contains(":")
        ? .ipv6(host: configuration.host, port: configuration.grpcPort)
        : .ipv4(host: configuration.host, port: configuration.grpcPort),
      transportSecurity: .plaintext,
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
      }
    )
    self.grpcServer = GRPCServer(
      transport: transport,
      services: [BulkService(jobs: jobs)],
      interceptors: [AuthInterceptor(directory: directory, logger: logger)]
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
  /// surfaces gracefully.
  package func run() async throws {
    let group = ServiceGroup(
      configuration: .init(
        services: [
          .init(service: GRPCSurface(server: self.grpcServer), successTerminationBehavior: .gracefullyShutdownGroup)
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: self.logger
      )
    )
    try await withThrowingDiscardingTaskGroup { tasks in
      tasks.addTask { try await group.run() }
      let port = try await self.grpcPort()
      self.announce("grpc listening on \(self.configuration.host):\(port)")
    }
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

/// The gRPC server as a lifecycle service: graceful shutdown stops accepting calls and lets
/// the running ones finish.
private struct GRPCSurface: Service {
  let server: GRPCServer<HTTP2ServerTransport.Posix>

  func run() async throws {
    try await withGracefulShutdownHandler {
      try await self.server.serve()
    } onGracefulShutdown: {
      self.server.beginGracefulShutdown()
    }
  }
}
