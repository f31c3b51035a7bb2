package import BulkCore
internal import BulkEngine
internal import BulkS3
internal import BulkS3Storage
internal import Foundation
internal import Logging

/// Where jobs' uploads, checkpoints and results are kept (`--storage`).
package enum StorageSetting: Sendable, Equatable {
  /// Files in the data directory's `staging` and `results` folders, the default.
  case local
  /// Objects in an S3 bucket under a prefix, shared by every instance given the same URL.
  case s3(bucket: String, prefix: String)

  /// `s3://bucket/prefix`, or `local`.
  ///
  /// - Throws: `BulkError.invalidArgument` naming `--storage` when it is neither.
  package init(url: String) throws(BulkError) {
    if url == "local" {
      self = .local
      return
    }
    guard url.hasPrefix("s3://") else {
      throw .invalidArgument("--storage must be local or an s3://bucket/prefix URL, not \(url)")
    }
    let path = url.dropFirst("s3://".count)
    let bucket = path.prefix { $0 != "/" }
    guard !bucket.isEmpty else { throw .invalidArgument("--storage \(url) names no bucket") }
    let prefix = path.dropFirst(bucket.count).split(separator: "/").joined(separator: "/")
    self = .s3(bucket: String(bucket), prefix: prefix)
  }

  /// The setting as `--storage` takes it.
  package var url: String {
    switch self {
    case .local: "local"
    case .s3(let bucket, let prefix): "s3://\(bucket)" + (prefix.isEmpty ? "" : "/\(prefix)")
    }
  }
}

extension ServerConfiguration {
  /// The file storage in `dataDirectory` of `--storage local`; `nil` for S3.
  func localStorage(dataDirectory: URL) throws -> FileJobStorage? {
    guard self.storage == .local else { return nil }
    return try FileJobStorage(
      stagingDirectory: dataDirectory.appendingPathComponent("staging").path,
      resultsDirectory: dataDirectory.appendingPathComponent("results").path
    )
  }

  /// The S3 storage of `--storage s3://…`, through the client `s3` makes; `nil` for local.
  func s3Storage(_ s3: () throws -> S3Client) throws -> S3JobStorage? {
    guard case .s3(let bucket, let prefix) = self.storage else { return nil }
    return S3JobStorage(client: try s3(), bucket: bucket, prefix: prefix)
  }
}

/// The S3 client the storage and a Redshift warehouse share, made by the first that asks.
final class S3Connection {
  private let configuration: ServerConfiguration
  private let logger: Logger
  private var made: S3Client?

  init(configuration: ServerConfiguration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
  }

  /// The client's transport, to shut down, once the client is made.
  private(set) var transport: S3HTTPTransport?

  /// The client, with `S3CredentialChain.standard` and a transport of its own.
  func client() throws -> S3Client {
    if let made { return made }
    let environment = ProcessInfo.processInfo.environment
    let s3Configuration = try self.configuration.s3Configuration(environment: environment)
    let http = S3HTTPTransport()
    // `s3Configuration` validated the settings, which is all the client's initializer checks.
    let client = try S3Client(
      configuration: s3Configuration,
      credentials: S3CredentialChain.standard(environment: environment, http: http),
      http: http,
      logger: self.logger
    )
    self.made = client
    self.transport = http
    return client
  }
}
