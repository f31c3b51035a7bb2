// swift-tools-version:6.1
import PackageDescription

let products: [Product] = [
  .executable(name: "spectra-bulk", targets: ["SpectraBulkCLI"]),
  .executable(name: "spectra-bench", targets: ["SpectraBench"]),
]

let dependencies: [Package.Dependency] = [
  .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
  .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
  .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
  .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
  .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
  .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
  .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
  .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
  .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
  .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
  .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3" ..< "5.0.0"),
  .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
  .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
  .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
  .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
  .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
  .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
  .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
]

let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let targets: [Target] = [
  // Domain: jobs, the state machine, errors, tenants and the store protocols. No I/O.
  .target(
    name: "BulkCore",
    dependencies: [
      .product(name: "Logging", package: "swift-log"),
      .product(name: "Crypto", package: "swift-crypto"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkCoreTests",
    dependencies: [
      "BulkCore",
      "BulkEngine",
      "BulkSQLite",
      "BulkTestSupport",
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),

  // The system zlib, for inflating gzip uploads in a way that can be taken up midway.
  .systemLibrary(
    name: "CBulkZlib",
    pkgConfig: "zlib",
    providers: [.apt(["zlib1g-dev"])]
  ),

  // Streaming CSV / JSON readers and writers, record splitting, gzip inflate with caps.
  .target(
    name: "BulkFormats",
    dependencies: [
      "BulkCore",
      "CBulkZlib",
      .product(name: "NIOCore", package: "swift-nio"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkFormatsTests",
    dependencies: [
      "BulkFormats",
      "BulkCore",
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "CompressNIO", package: "compress-nio"),
    ],
    swiftSettings: swiftSettings
  ),

  // Upload staging and, later, the chunked executor.
  .target(
    name: "BulkEngine",
    dependencies: [
      "BulkCore",
      "BulkFormats",
      .product(name: "DequeModule", package: "swift-collections"),
      .product(name: "Metrics", package: "swift-metrics"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkEngineTests",
    dependencies: [
      "BulkEngine",
      "BulkSQLite",
      "BulkPostgres",
      "BulkTestSupport",
      "BulkCore",
      "BulkFormats",
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "CompressNIO", package: "compress-nio"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),

  // Generated protobuf and gRPC code only; see Codegen/.
  .target(
    name: "BulkProto",
    dependencies: [
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
    ],
    swiftSettings: swiftSettings
  ),

  // The system SQLite library.
  .systemLibrary(
    name: "CSQLite",
    pkgConfig: "sqlite3",
    providers: [.apt(["libsqlite3-dev"])]
  ),

  // Job catalog (and, later, the embedded warehouse) on SQLite.
  .target(
    name: "BulkSQLite",
    dependencies: [
      "BulkCore",
      "BulkFormats",
      "CSQLite",
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkSQLiteTests",
    dependencies: [
      "BulkSQLite",
      "BulkTestSupport",
      "BulkCore",
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),

  // libpq, the PostgreSQL client library (also speaks to Redshift).
  .systemLibrary(
    name: "CLibPQ",
    pkgConfig: "libpq",
    providers: [.apt(["libpq-dev"])]
  ),

  // The warehouse on PostgreSQL / Redshift over libpq.
  .target(
    name: "BulkPostgres",
    dependencies: [
      "BulkCore",
      "CLibPQ",
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkPostgresTests",
    dependencies: [
      "BulkPostgres",
      "BulkCore",
      "BulkTestSupport",
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),

  // The S3 client: Signature Version 4, multipart uploads, ranged reads, the credential chain.
  .target(
    name: "BulkS3",
    dependencies: [
      .product(name: "AsyncHTTPClient", package: "async-http-client"),
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOHTTP1", package: "swift-nio"),
      .product(name: "NIOFoundationCompat", package: "swift-nio"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkS3Tests",
    dependencies: [
      "BulkS3",
      "BulkTestSupport",
      .product(name: "AsyncHTTPClient", package: "async-http-client"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOPosix", package: "swift-nio"),
      .product(name: "NIOHTTP1", package: "swift-nio"),
      .product(name: "Logging", package: "swift-log"),
    ],
    resources: [.copy("Vectors")],
    swiftSettings: swiftSettings
  ),

  // Job storage in S3: uploads as segment objects per sync, results and checkpoints as objects.
  .target(
    name: "BulkS3Storage",
    dependencies: [
      "BulkCore",
      "BulkS3",
      .product(name: "NIOCore", package: "swift-nio"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkS3StorageTests",
    dependencies: [
      "BulkS3Storage",
      "BulkCore",
      "BulkEngine",
      "BulkFormats",
      "BulkS3",
      "BulkTestSupport",
      .product(name: "NIOCore", package: "swift-nio"),
    ],
    swiftSettings: swiftSettings
  ),

  // The Redshift warehouse: loads staged in S3 as gzip CSV and copied in, exports unloaded to S3.
  .target(
    name: "BulkRedshift",
    dependencies: [
      "BulkCore",
      "BulkFormats",
      "BulkPostgres",
      "BulkS3",
      .product(name: "Logging", package: "swift-log"),
      .product(name: "NIOCore", package: "swift-nio"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkRedshiftTests",
    dependencies: [
      "BulkRedshift",
      "BulkCore",
      "BulkEngine",
      "BulkFormats",
      "BulkPostgres",
      "BulkS3",
      "BulkTestSupport",
      .product(name: "Logging", package: "swift-log"),
      .product(name: "NIOCore", package: "swift-nio"),
    ],
    swiftSettings: swiftSettings
  ),

  // Shared by the test targets: a throw-away PostgreSQL cluster from the installed binaries, a
  // schema of its own in it, moto (S3) on loopback, temporary directories, and a real engine
  // over SQLite to drive.
  .target(
    name: "BulkTestSupport",
    dependencies: [
      "BulkCore",
      "BulkEngine",
      "BulkPostgres",
      "BulkSQLite",
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),

  // The gRPC BulkService: proto <-> domain mapping, the auth interceptor, BulkError -> RPCError.
  .target(
    name: "BulkGRPC",
    dependencies: [
      "BulkCore",
      "BulkProto",
      .product(name: "Metrics", package: "swift-metrics"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkGRPCTests",
    dependencies: [
      "BulkGRPC",
      "BulkEngine",
      "BulkCore",
      "BulkProto",
      "BulkSQLite",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),

  // The REST/JSON surface: the seed's curl workflow, signed upload URLs, /healthz, /metrics.
  .target(
    name: "BulkHTTP",
    dependencies: [
      "BulkCore",
      .product(name: "CompressNIO", package: "compress-nio"),
      .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      .product(name: "Hummingbird", package: "hummingbird"),
      .product(name: "HummingbirdTLS", package: "hummingbird"),
      .product(name: "HummingbirdCore", package: "hummingbird"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
      .product(name: "HTTPTypes", package: "swift-http-types"),
      .product(name: "NIOSSL", package: "swift-nio-ssl"),
      .product(name: "Metrics", package: "swift-metrics"),
      .product(name: "Prometheus", package: "swift-prometheus"),
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "Logging", package: "swift-log"),
    ],
    // The job console's files, compiled into the binary: nothing to install beside it.
    resources: [
      .embedInCode("Console/index.html"),
      .embedInCode("Console/console.css"),
      .embedInCode("Console/console.js"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkHTTPTests",
    dependencies: [
      "BulkHTTP",
      "BulkCore",
      "BulkEngine",
      "BulkSQLite",
      .product(name: "Hummingbird", package: "hummingbird"),
      .product(name: "HummingbirdTesting", package: "hummingbird"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),

  // Composition root: configuration -> ServiceGroup.
  .target(
    name: "BulkServer",
    dependencies: [
      "BulkCore",
      "BulkEngine",
      "BulkHTTP",
      .product(name: "Prometheus", package: "swift-prometheus"),
      "BulkPostgres",
      "BulkRedshift",
      "BulkS3",
      "BulkS3Storage",
      "BulkGRPC",
      "BulkProto",
      "BulkSQLite",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOSSL", package: "swift-nio-ssl"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      .product(name: "UnixSignals", package: "swift-service-lifecycle"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkServerTests",
    dependencies: [
      "BulkServer",
      "BulkHTTP",
      .product(name: "Crypto", package: "swift-crypto"),
      "BulkSQLite",
      "BulkTestSupport",
      "BulkCore",
      "BulkProto",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ],
    swiftSettings: swiftSettings
  ),

  // The gRPC client of both programs: connection and credentials, resumable uploads, following
  // a job, paged downloads, retries with backoff.
  .target(
    name: "BulkGRPCClient",
    dependencies: [
      "BulkCore", "BulkFormats", "BulkProto",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ],
    swiftSettings: swiftSettings
  ),

  // Benchmarks: programs that print figures, built in release.
  .executableTarget(
    name: "SpectraBench",
    dependencies: [
      "BulkGRPCClient",
      "BulkRedshift",
      "BulkS3",
      "BulkTestSupport",
      "BulkFormats",
      "BulkCore",
      "BulkPostgres",
      "BulkSQLite",
      "BulkProto",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "CompressNIO", package: "compress-nio"),
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ],
    swiftSettings: swiftSettings
  ),

  // The `spectra-bulk` command.
  .executableTarget(
    name: "SpectraBulkCLI",
    dependencies: [
      "BulkGRPCClient",
      "BulkServer",
      "BulkCore",
      "BulkProto",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "BulkGRPCClientTests",
    dependencies: ["BulkGRPCClient"],
    swiftSettings: swiftSettings
  ),
  .testTarget(
    name: "SpectraBulkCLITests",
    dependencies: [
      "SpectraBulkCLI",
      "BulkGRPCClient",
      "BulkProto",
      "BulkTestSupport",
      "BulkServer",
      "BulkCore",
      "BulkEngine",
      "BulkHTTP",
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ],
    swiftSettings: swiftSettings
  ),
]

let package = Package(
  name: "spectra-bulk",
  platforms: [.macOS(.v15)],
  products: products,
  dependencies: dependencies,
  targets: targets
)
