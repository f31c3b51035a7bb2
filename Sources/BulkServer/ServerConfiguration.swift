package import BulkCore
package import BulkEngine
package import BulkHTTP
internal import Foundation
package import Logging

/// Everything `spectra-bulk serve` can be told, with the defaults of API.md §4.
///
/// The defaults are here and in the settings it is built from (`Limits`, `EngineSettings`,
/// `GRPCTransportSettings`, `HTTPConnectionSettings`); each setting's flag and environment
/// variable are in `ServerSetting+Serve.swift`, read by `ServerConfigurationResolver`.
package struct ServerConfiguration: Sendable {
  /// Catalog, staging and results; created if missing.
  package var dataDirectory: String = "./.spectra"
  /// Listen address of both surfaces.
  package var host: String = "127.0.0.1"
  /// The gRPC port; 0 picks a free one.
  package var grpcPort: Int = 50051
  /// The REST/JSON port; 0 picks a free one.
  package var httpPort: Int = 8080
  /// The scheme, host and port clients reach the REST surface at, for upload URLs behind a proxy;
  /// `nil` uses the request's `Host`.
  package var publicBaseURL: String?
  /// The tenants file; without it the server has the one development tenant.
  package var tenantsFile: String?
  /// The development tenant's token when there is no tenants file; generated when `nil`.
  package var developmentToken: String?
  /// Seed the embedded warehouse of `tenant-123` with the quickstart's tables.
  package var demo: Bool = false
  /// `postgresql://…` or `redshift://…`; `nil` for the embedded SQLite warehouse.
  package var warehouseURL: String?
  /// With a `redshift://` warehouse: where loads and exports are staged in S3.
  package var redshift = RedshiftSetting()
  /// The S3 client's settings.
  package var s3 = S3Setting()
  /// Where uploads, checkpoints and results are kept: the data directory by default.
  package var storage: StorageSetting = .local
  /// Where the job catalog lives; one instance's SQLite file in the data directory by default.
  package var catalog: CatalogSetting = .sqlite(path: nil)
  /// The name this instance's leases and finished chunks are recorded under in the catalog;
  /// the host name, the process id and a random suffix when `nil`.
  package var instanceID: String?
  /// Service-layer limits.
  package var limits = Limits()
  /// How the engine runs jobs; `workers` defaults to the number of cores.
  package var engine = EngineSettings(workers: ProcessInfo.processInfo.activeProcessorCount)
  /// HTTP/2 and gRPC transport settings.
  package var grpc = GRPCTransportSettings()
  /// REST timeouts and connection cap.
  package var http = HTTPConnectionSettings()
  /// The PEM certificate chain both surfaces present; with `tlsKeyFile`, TLS is on.
  package var tlsCertificateFile: String?
  /// The PEM private key of the certificate's leaf.
  package var tlsKeyFile: String?
  /// A PEM file of CA certificates; when set, both surfaces require a client certificate signed
  /// by one of them (mTLS). Needs TLS.
  package var tlsClientCAFile: String?
  /// Listen on a non-loopback `host` without TLS (refused otherwise).
  package var allowPlaintext: Bool = false
  /// The bearer token `GET /metrics` then needs; `nil` leaves it open.
  package var metricsToken: String?
  /// How long SIGTERM or SIGINT may take before the process exits: the surfaces drain and
  /// running chunks finish within it (API.md §4, `--shutdown-grace`).
  package var shutdownGrace: Duration = .seconds(25)
  /// The least level logged.
  package var logLevel: Logger.Level = .info
  /// How log lines are written; `nil` picks by standard error (`LogFormat.standardErrorDefault`).
  package var logFormat: LogFormat?

  package init() {}
}

/// HTTP/2 settings of the gRPC surface, sized for bulk streams.
package struct GRPCTransportSettings: Hashable, Sendable {
  /// Streams (calls) one connection may have open at once; advertised in SETTINGS.
  package var maxConcurrentStreams: Int = 100
  /// A connection with no open stream for this long is closed with GOAWAY.
  package var maxIdleTime: Duration = .seconds(300)
  /// The server pings a connection that has been quiet this long…
  package var keepaliveTime: Duration = .seconds(60)
  /// …and closes it when the ping is not answered within this.
  package var keepaliveTimeout: Duration = .seconds(20)
  /// Clients pinging more often than this without a call open get GOAWAY (ping abuse).
  package var minClientPingInterval: Duration = .seconds(60)
  /// HTTP/2 flow-control window per stream and connection. The transport's 64 KiB holds one
  /// upload to about 100 MB/s here; 4 MiB reached about 870 MB/s (ARCHITECTURE.md).
  package var targetWindowSize: Int = 4 << 20
  /// Largest HTTP/2 frame the server accepts.
  package var maxFrameSize: Int = 256 << 10
  /// Largest gRPC message the server accepts.
  package var maxMessageSize: Int = 4 << 20
  /// Connections open at once; the ones past it are closed when accepted.
  package var maxConnections: Int = 512

  package init() {}
}
