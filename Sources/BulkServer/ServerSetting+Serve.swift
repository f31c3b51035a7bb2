internal import BulkCore
internal import BulkEngine
internal import BulkHTTP
internal import Logging

// The settings of `spectra-bulk serve` (API.md §4): each one's flag, environment variable and
// check. A new setting is a property of `ServerConfiguration` with its default, a static here, and
// one flag of `Serve` that passes it to `ServerConfigurationResolver.set`.

extension ServerSetting where Value == String {
  /// `--data-dir`: catalog, staging and results.
  package static var dataDirectory: Self { Self(flag: "--data-dir", variable: "SPECTRA_DATA_DIR", \.dataDirectory) }
  /// `--host`: the listen address of both surfaces.
  package static var host: Self { Self(flag: "--host", variable: "SPECTRA_HOST", \.host) }
  /// `--public-url`: the REST surface's base URL as clients reach it.
  package static var publicURL: Self { Self(flag: "--public-url", variable: "SPECTRA_PUBLIC_URL", \.publicBaseURL) }
  /// `--tenants`: the tenants file.
  package static var tenants: Self { Self(flag: "--tenants", variable: "SPECTRA_TENANTS", \.tenantsFile) }
  /// The development tenant's token; only the environment gives it.
  package static var developmentToken: Self {
    Self(flag: nil, variable: "SPECTRA_DEV_TOKEN", \.developmentToken)
  }
  /// `--tls-cert`: the PEM certificate chain.
  package static var tlsCertificate: Self {
    Self(flag: "--tls-cert", variable: "SPECTRA_TLS_CERT", \.tlsCertificateFile)
  }
  /// `--tls-key`: the certificate's PEM private key.
  package static var tlsKey: Self { Self(flag: "--tls-key", variable: "SPECTRA_TLS_KEY", \.tlsKeyFile) }
  /// `--tls-client-ca`: the CA certificates clients must present a certificate of (mTLS).
  package static var tlsClientCA: Self {
    Self(flag: "--tls-client-ca", variable: "SPECTRA_TLS_CLIENT_CA", \.tlsClientCAFile)
  }
  /// `--metrics-token`: the bearer token `GET /metrics` needs.
  package static var metricsToken: Self {
    Self(flag: "--metrics-token", variable: "SPECTRA_METRICS_TOKEN", \.metricsToken) { token in
      token.isEmpty ? "--metrics-token must not be empty" : nil
    }
  }
  /// `--warehouse`: a `postgresql://…` or `redshift://…` URL.
  package static var warehouse: Self { Self(flag: "--warehouse", variable: "SPECTRA_WAREHOUSE", \.warehouseURL) }
  /// `--redshift-s3-prefix`: `s3://bucket/prefix` where Redshift jobs stage their data.
  package static var redshiftS3Prefix: Self {
    Self(flag: "--redshift-s3-prefix", variable: "SPECTRA_REDSHIFT_S3_PREFIX", \.redshift.s3Prefix) { prefix in
      prefix.hasPrefix("s3://") ? nil : "--redshift-s3-prefix must be an s3://bucket/prefix URL"
    }
  }
  /// `--redshift-iam-role`: the role Redshift assumes for `COPY` and `UNLOAD`.
  package static var redshiftIAMRole: Self {
    Self(flag: "--redshift-iam-role", variable: "SPECTRA_REDSHIFT_IAM_ROLE", \.redshift.iamRole) { role in
      role.hasPrefix("arn:") ? nil : "--redshift-iam-role must be a role ARN (arn:aws:iam::…:role/…)"
    }
  }
  /// Keys for `COPY … CREDENTIALS` when Redshift assumes no role; the environment only.
  package static var redshiftAccessKeyID: Self {
    Self(flag: nil, variable: "SPECTRA_REDSHIFT_ACCESS_KEY_ID", \.redshift.accessKeyID)
  }
  /// The secret of `SPECTRA_REDSHIFT_ACCESS_KEY_ID`; the environment only.
  package static var redshiftSecretAccessKey: Self {
    Self(flag: nil, variable: "SPECTRA_REDSHIFT_SECRET_ACCESS_KEY", \.redshift.secretAccessKey)
  }
  /// The session token of temporary keys; the environment only.
  package static var redshiftSessionToken: Self {
    Self(flag: nil, variable: "SPECTRA_REDSHIFT_SESSION_TOKEN", \.redshift.sessionToken)
  }
  /// `--s3-region`.
  package static var s3Region: Self { Self(flag: "--s3-region", variable: "SPECTRA_S3_REGION", \.s3.region) }
  /// `--s3-endpoint`: an S3-compatible store's URL.
  package static var s3Endpoint: Self {
    Self(flag: "--s3-endpoint", variable: "SPECTRA_S3_ENDPOINT", \.s3.endpoint) { endpoint in
      endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") ? nil : "--s3-endpoint must be an http:// or https:// URL"
    }
  }
  /// `--s3-addressing`: path or virtual.
  package static var s3Addressing: Self {
    Self(flag: "--s3-addressing", variable: "SPECTRA_S3_ADDRESSING", \.s3.addressing) { addressing in
      ["path", "virtual"].contains(addressing) ? nil : "--s3-addressing must be path or virtual"
    }
  }
  /// `--s3-sse`: AES256 or aws:kms.
  package static var s3Encryption: Self {
    Self(flag: "--s3-sse", variable: "SPECTRA_S3_SSE", \.s3.encryption) { encryption in
      ["AES256", "aws:kms"].contains(encryption) ? nil : "--s3-sse must be AES256 or aws:kms"
    }
  }
  /// `--s3-kms-key-id`: the key of `--s3-sse aws:kms`.
  package static var s3KMSKeyID: Self { Self(flag: "--s3-kms-key-id", variable: "SPECTRA_S3_KMS_KEY_ID", \.s3.kmsKeyID) }
  /// `--job-lifetime`: how long a job may stay unfinished.
  package static var jobLifetime: Self {
    Self.lifetime(flag: "--job-lifetime", variable: "SPECTRA_JOB_LIFETIME", \.engine.maxJobAge) {
      configuration,
      duration in
      configuration.setLifetimes(jobLifetime: duration, retention: configuration.engine.retention)
    }
  }
  /// `--retention`: how long a finished job is kept after its last change.
  package static var retention: Self {
    Self.lifetime(flag: "--retention", variable: "SPECTRA_RETENTION", \.engine.retention) { configuration, duration in
      configuration.setLifetimes(jobLifetime: configuration.engine.maxJobAge, retention: duration)
    }
  }
  /// `--lease-duration`: how long a job's or a chunk's lease lasts unless its instance renews it.
  package static var leaseDuration: Self {
    Self.lifetime(flag: "--lease-duration", variable: "SPECTRA_LEASE_DURATION", \.engine.leaseDuration) {
      configuration,
      duration in
      configuration.engine.leaseDuration = duration
    }
  }
  /// `--instance-id`: the name of this instance's leases in a shared catalog.
  package static var instanceID: Self {
    Self(flag: "--instance-id", variable: "SPECTRA_INSTANCE_ID", \.instanceID) { id in
      let allowed = id.utf8.allSatisfy { byte in
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x2D || byte == 0x5F
          || byte == 0x2E
      }
      return allowed && (1...64).contains(id.utf8.count)
        ? nil : "--instance-id must be 1 to 64 letters, digits, '-', '_' or '.'"
    }
  }
  /// `--catalog`: `postgresql://…` for a catalog several instances share, or `sqlite:PATH`; the
  /// data directory's SQLite file by default.
  package static var catalog: Self {
    Self(
      flag: "--catalog",
      variable: "SPECTRA_CATALOG",
      parse: { $0 },
      shown: { _ in nil },
      apply: { configuration, text throws(BulkError) in
        guard let catalog = CatalogSetting(flag: text) else {
          throw .invalidArgument("--catalog must be a postgresql://… URL or sqlite:PATH")
        }
        configuration.catalog = catalog
      }
    )
  }
  /// `--storage`: local, or `s3://bucket/prefix` for uploads, checkpoints and results in S3.
  package static var storage: Self {
    Self(
      flag: "--storage",
      variable: "SPECTRA_STORAGE",
      parse: { $0 },
      shown: { $0.storage.url },
      apply: { configuration, text throws(BulkError) in
        configuration.storage = try StorageSetting(url: text)
      }
    )
  }
  /// `--log-level`: trace … critical.
  package static var logLevel: Self {
    Self(
      flag: "--log-level",
      variable: "SPECTRA_LOG_LEVEL",
      parse: { $0 },
      shown: { $0.logLevel.rawValue },
      apply: { configuration, text throws(BulkError) in
        guard let level = Logger.Level(rawValue: text) else {
          throw .invalidArgument("--log-level \(text) is not a level")
        }
        configuration.logLevel = level
      }
    )
  }
  /// `--log-format`: text or json.
  package static var logFormat: Self {
    Self(
      flag: "--log-format",
      variable: "SPECTRA_LOG_FORMAT",
      parse: { $0 },
      shown: { $0.logFormat?.rawValue },
      apply: { configuration, text throws(BulkError) in
        guard let format = LogFormat(rawValue: text) else {
          throw .invalidArgument("--log-format \(text) is not text or json")
        }
        configuration.logFormat = format
      }
    )
  }

  /// A duration as `ServerConfiguration.duration` reads it, shown in its largest whole unit.
  private static func lifetime(
    flag: String,
    variable: String,
    _ keyPath: KeyPath<ServerConfiguration, Duration>,
    store: @escaping (inout ServerConfiguration, Duration) -> Void
  ) -> Self {
    Self(
      flag: flag,
      variable: variable,
      parse: { $0 },
      shown: { ServerConfiguration.durationText($0[keyPath: keyPath]) },
      apply: { configuration, text throws(BulkError) in
        store(&configuration, try ServerConfiguration.duration(text, setting: flag))
      }
    )
  }
}

extension ServerSetting where Value == Bool {
  /// `--demo`: seed the quickstart's tables.
  package static var demo: Self { Self.switch(flag: "--demo", variable: "SPECTRA_DEMO", \.demo) }
  /// `--allow-plaintext`: serve a non-loopback host without TLS.
  package static var allowPlaintext: Self {
    Self.switch(flag: "--allow-plaintext", variable: "SPECTRA_ALLOW_PLAINTEXT", \.allowPlaintext)
  }

  /// A switch: its variable turns it on with `1` or `true`.
  private static func `switch`(
    flag: String,
    variable: String,
    _ keyPath: WritableKeyPath<ServerConfiguration, Bool>
  )
    -> Self
  {
    Self(
      flag: flag,
      variable: variable,
      parse: { ["1", "true"].contains($0) },
      shown: { _ in nil },
      apply: { configuration, value in
        configuration[keyPath: keyPath] = value
      }
    )
  }
}

extension ServerSetting where Value == Int {
  /// `--grpc-port`; 0 picks a free port.
  package static var grpcPort: Self {
    Self(flag: "--grpc-port", variable: "SPECTRA_GRPC_PORT", \.grpcPort) { port in
      (0 ... 65535).contains(port) ? nil : "--grpc-port must be 0 to 65535"
    }
  }
  /// `--http-port`; 0 picks a free port.
  package static var httpPort: Self { Self(flag: "--http-port", variable: "SPECTRA_HTTP_PORT", \.httpPort) }
  /// `--grpc-max-concurrent-streams`.
  package static var grpcMaxConcurrentStreams: Self {
    Self.positive("--grpc-max-concurrent-streams", "SPECTRA_GRPC_MAX_CONCURRENT_STREAMS", \.grpc.maxConcurrentStreams)
  }
  /// `--grpc-window-size`: the HTTP/2 flow-control window.
  package static var grpcWindowSize: Self {
    Self(flag: "--grpc-window-size", variable: "SPECTRA_GRPC_WINDOW_SIZE", \.grpc.targetWindowSize) { size in
      (65535 ... (1 << 31) - 1).contains(size) ? nil : "--grpc-window-size must be 65535 to 2147483647"
    }
  }
  /// `--grpc-max-frame-size`.
  package static var grpcMaxFrameSize: Self {
    Self(flag: "--grpc-max-frame-size", variable: "SPECTRA_GRPC_MAX_FRAME_SIZE", \.grpc.maxFrameSize) { size in
      (16384 ... 16_777_215).contains(size) ? nil : "--grpc-max-frame-size must be 16384 to 16777215"
    }
  }
  /// `--grpc-max-connections`.
  package static var grpcMaxConnections: Self {
    Self.positive("--grpc-max-connections", "SPECTRA_GRPC_MAX_CONNECTIONS", \.grpc.maxConnections)
  }
  /// `--http-max-connections`.
  package static var httpMaxConnections: Self {
    Self.positive("--http-max-connections", "SPECTRA_HTTP_MAX_CONNECTIONS", \.http.maxConnections)
  }
  /// `--max-active-jobs`: unfinished jobs per tenant.
  package static var maxActiveJobs: Self {
    Self.positive("--max-active-jobs", "SPECTRA_MAX_ACTIVE_JOBS", \.limits.maxActiveJobsPerTenant)
  }
  /// `--max-query-bytes`.
  package static var maxQueryBytes: Self {
    Self.positive("--max-query-bytes", "SPECTRA_MAX_QUERY_BYTES", \.limits.maxQueryBytes)
  }
  /// `--max-columns`.
  package static var maxColumns: Self { Self.positive("--max-columns", "SPECTRA_MAX_COLUMNS", \.limits.maxColumns) }
  /// `--max-value-bytes`.
  package static var maxValueBytes: Self {
    Self.positive("--max-value-bytes", "SPECTRA_MAX_VALUE_BYTES", \.limits.maxValueBytes)
  }
  /// `--workers`; the number of cores by default.
  package static var workers: Self {
    Self(
      flag: "--workers",
      variable: "SPECTRA_WORKERS",
      parse: { Int($0) },
      shown: { _ in nil },
      apply: { configuration, workers throws(BulkError) in
        guard workers >= 1 else { throw .invalidArgument("--workers must be at least 1") }
        configuration.engine.workers = workers
      }
    )
  }
  /// `--redshift-slices`: the cluster's slices; asked of the cluster by default.
  package static var redshiftSlices: Self {
    Self(flag: "--redshift-slices", variable: "SPECTRA_REDSHIFT_SLICES", \.redshift.slices) { slices in
      slices < 1 ? "--redshift-slices must be at least 1" : nil
    }
  }
  /// `--chunk-budget`; twice the workers by default.
  package static var chunkBudget: Self {
    Self(flag: "--chunk-budget", variable: "SPECTRA_CHUNK_BUDGET", \.engine.chunkBudget) { budget in
      budget < 1 ? "--chunk-budget must be at least 1" : nil
    }
  }
  /// `--max-queries`; the workers, at least 2, by default.
  package static var maxQueries: Self {
    Self(flag: "--max-queries", variable: "SPECTRA_MAX_QUERIES", \.engine.maxQueries) { queries in
      queries < 1 ? "--max-queries must be at least 1" : nil
    }
  }
  /// `--max-tenant-queries`.
  package static var maxTenantQueries: Self {
    Self(flag: "--max-tenant-queries", variable: "SPECTRA_MAX_TENANT_QUERIES", \.engine.maxTenantQueries) { queries in
      queries > 0 ? nil : "--max-tenant-queries must be at least 1"
    }
  }
  /// `--chunk-records`.
  package static var chunkRecords: Self {
    Self.positive("--chunk-records", "SPECTRA_CHUNK_RECORDS", \.engine.chunkRecords)
  }

  private static func positive(
    _ flag: String,
    _ variable: String,
    _ keyPath: WritableKeyPath<ServerConfiguration, Int>
  )
    -> Self
  {
    Self(flag: flag, variable: variable, keyPath) { $0 > 0 ? nil : "\(flag) must be positive" }
  }
}

extension ServerSetting where Value == Int64 {
  /// `--max-upload-bytes`.
  package static var maxUploadBytes: Self {
    Self.positive("--max-upload-bytes", "SPECTRA_MAX_UPLOAD_BYTES", \.limits.maxUploadBytes)
  }
  /// `--max-inflated-bytes`.
  package static var maxInflatedBytes: Self {
    Self.positive("--max-inflated-bytes", "SPECTRA_MAX_INFLATED_BYTES", \.limits.maxInflatedBytes)
  }
  /// `--max-tenant-bytes`.
  package static var maxTenantBytes: Self {
    Self.positive("--max-tenant-bytes", "SPECTRA_MAX_TENANT_BYTES", \.limits.maxTenantBytes)
  }
  /// `--min-free-bytes`.
  package static var minFreeBytes: Self {
    Self(flag: "--min-free-bytes", variable: "SPECTRA_MIN_FREE_BYTES", \.limits.minFreeBytes) { bytes in
      bytes >= 0 ? nil : "--min-free-bytes must not be negative"
    }
  }
  /// `--max-query-result-bytes`.
  package static var maxQueryResultBytes: Self {
    Self.positive("--max-query-result-bytes", "SPECTRA_MAX_QUERY_RESULT_BYTES", \.limits.maxQueryResultBytes)
  }

  private static func positive(
    _ flag: String,
    _ variable: String,
    _ keyPath: WritableKeyPath<ServerConfiguration, Int64>
  ) -> Self {
    Self(flag: flag, variable: variable, keyPath) { $0 > 0 ? nil : "\(flag) must be positive" }
  }
}

extension ServerSetting where Value == Double {
  /// `--http-header-timeout`, in seconds.
  package static var httpHeaderTimeout: Self {
    Self.seconds("--http-header-timeout", "SPECTRA_HTTP_HEADER_TIMEOUT", \.http.headerTimeout)
  }
  /// `--http-idle-timeout`, in seconds.
  package static var httpIdleTimeout: Self {
    Self.seconds("--http-idle-timeout", "SPECTRA_HTTP_IDLE_TIMEOUT", \.http.idleTimeout)
  }
  /// `--query-timeout`, in seconds.
  package static var queryTimeout: Self {
    Self.seconds("--query-timeout", "SPECTRA_QUERY_TIMEOUT", \.engine.queryTimeout)
  }
  /// `--shutdown-grace`, in seconds.
  package static var shutdownGrace: Self {
    Self.seconds("--shutdown-grace", "SPECTRA_SHUTDOWN_GRACE", \.shutdownGrace) { seconds in
      seconds >= 1 ? nil : "--shutdown-grace must be at least 1 second"
    }
  }

  /// Seconds, stored in whole milliseconds once `check` returns `nil`; without `check`, they
  /// must be positive.
  private static func seconds(
    _ flag: String,
    _ variable: String,
    _ keyPath: WritableKeyPath<ServerConfiguration, Duration>,
    check: ((Double) -> String?)? = nil
  ) -> Self {
    let check = check ?? { seconds in seconds > 0 ? nil : "\(flag) must be positive" }
    return Self(
      flag: flag,
      variable: variable,
      parse: { Double($0) },
      shown: { "\($0[keyPath: keyPath].inSeconds)" },
      apply: { configuration, seconds throws(BulkError) in
        if let problem = check(seconds) { throw .invalidArgument(problem) }
        configuration[keyPath: keyPath] = .milliseconds(Int64(seconds * 1000))
      }
    )
  }
}
