public import Foundation

/// AWS credentials: an access key, its secret and, for temporary credentials, a session token
/// and an expiry.
///
/// Their description names the access key id only; the secret and the token never appear in any
/// text this module produces.
public struct S3Credentials: Sendable, CustomStringConvertible {
  /// The access key id, `AKIA…` or `ASIA…`.
  public var accessKeyID: String
  /// The secret access key.
  public var secretAccessKey: String
  /// The session token of temporary credentials.
  public var sessionToken: String?
  /// When temporary credentials stop working; `nil` for long-term keys.
  public var expiration: Date?
  /// Where they came from (`environment`, `profile default`, `web identity`, `container`,
  /// `instance metadata`), for logs.
  public var source: String

  /// Credentials from their parts.
  public init(
    accessKeyID: String,
    secretAccessKey: String,
    sessionToken: String? = nil,
    expiration: Date? = nil,
    source: String = "static"
  ) {
    self.accessKeyID = accessKeyID
    self.secretAccessKey = secretAccessKey
    self.sessionToken = sessionToken
    self.expiration = expiration
    self.source = source
  }

  /// The access key id and the source; never the secret or the token.
  public var description: String {
    "S3Credentials(accessKeyID: \(self.accessKeyID), source: \(self.source)"
      + (self.expiration.map { ", expires: \($0)" } ?? "") + ")"
  }
}

/// Why credentials could not be found or fetched. The texts name the variable, file or endpoint
/// concerned, never a secret.
public enum S3CredentialError: Error, CustomStringConvertible, Equatable {
  /// This source has nothing configured; the chain goes on to the next.
  case notConfigured(source: String)
  /// No source of the chain had credentials.
  case noCredentials(tried: [String])
  /// A source is configured but incomplete or unreadable.
  case invalid(source: String, reason: String)
  /// A credentials endpoint answered with an error or something unreadable.
  case fetchFailed(source: String, reason: String)

  /// What went wrong and where.
  public var description: String {
    switch self {
    case .notConfigured(let source): "no \(source) credentials are configured"
    case .noCredentials(let tried): "no AWS credentials found; tried: \(tried.joined(separator: ", "))"
    case .invalid(let source, let reason): "\(source) credentials are invalid: \(reason)"
    case .fetchFailed(let source, let reason): "cannot fetch \(source) credentials: \(reason)"
    }
  }
}

/// A source of credentials. Providers of temporary credentials return them with their expiry;
/// ``S3RefreshingCredentials`` caches them and asks again before they expire.
public protocol S3CredentialProvider: Sendable {
  /// Fresh credentials, or ``S3CredentialError/notConfigured(source:)`` when this source has
  /// nothing configured.
  func credentials() async throws -> S3Credentials
}

/// The same credentials every time.
public struct S3StaticCredentials: S3CredentialProvider {
  let value: S3Credentials
  /// A provider of `credentials`.
  public init(_ credentials: S3Credentials) { self.value = credentials }
  /// The credentials given.
  public func credentials() async throws -> S3Credentials { self.value }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, optionally, `AWS_SESSION_TOKEN`.
public struct S3EnvironmentCredentials: S3CredentialProvider {
  let environment: [String: String]
  /// A provider reading `environment` (the process's by default).
  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.environment = environment
  }

  /// The credentials in the environment.
  public func credentials() async throws -> S3Credentials {
    let key = self.environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
    let secret = self.environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    switch (key, secret) {
    case (nil, nil): throw S3CredentialError.notConfigured(source: "environment")
    case (.some(let key), .some(let secret)):
      let token = self.environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
      return S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token, source: "environment")
    case (nil, _):
      throw S3CredentialError.invalid(source: "environment", reason: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
    case (_, nil):
      throw S3CredentialError.invalid(source: "environment", reason: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
    }
  }
}

/// The shared files: `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`), then `~/.aws/config`
/// (or `AWS_CONFIG_FILE`, whose sections are `[profile NAME]` except `[default]`), for the profile
/// `AWS_PROFILE` (`default` when unset). A key in the credentials file wins over the config file.
public struct S3ProfileCredentials: S3CredentialProvider {
  let files: AWSSharedFiles
  /// A provider reading the files that `environment` points to.
  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.files = AWSSharedFiles(environment: environment)
  }

  /// The profile's `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token`.
  public func credentials() async throws -> S3Credentials {
    let source = "profile \(self.files.profile)"
    let settings = try self.files.settings()
    let key = settings["aws_access_key_id"]
    let secret = settings["aws_secret_access_key"]
    switch (key, secret) {
    case (nil, nil): throw S3CredentialError.notConfigured(source: source)
    case (.some(let key), .some(let secret)):
      return S3Credentials(
        accessKeyID: key,
        secretAccessKey: secret,
        sessionToken: settings["aws_session_token"],
        source: source
      )
    default:
      throw S3CredentialError.invalid(
        source: source,
        reason: "the profile needs both aws_access_key_id and aws_secret_access_key"
      )
    }
  }
}

/// The AWS shared `credentials` and `config` files of one profile.
package struct AWSSharedFiles: Sendable {
  /// The profile: `AWS_PROFILE`, else `default`.
  package let profile: String
  let credentialsPath: String
  let configPath: String

  /// The files and profile `environment` names.
  package init(environment: [String: String]) {
    let home = environment["HOME"] ?? NSHomeDirectory()
    self.profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
    self.credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
    self.configPath = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"
  }

  /// The profile's settings, the credentials file's over the config file's; missing files are
  /// empty.
  package func settings() throws -> [String: String] {
    let config = try Self.sections(of: self.configPath)
    let configSection = self.profile == "default" ? (config["default"] ?? config["profile default"]) : config["profile \(self.profile)"]
    let credentials = try Self.sections(of: self.credentialsPath)[self.profile]
    return (configSection ?? [:]).merging(credentials ?? [:]) { $1 }
  }

  /// The sections of an INI-style file: `[name]` headers, `key = value` lines, `#` and `;`
  /// comments. A file that does not exist has none.
  static func sections(of path: String) throws -> [String: [String: String]] {
    guard FileManager.default.fileExists(atPath: path) else { return [:] }
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw S3CredentialError.invalid(source: "shared file", reason: "cannot read \(path)")
    }
    var sections: [String: [String: String]] = [:]
    var current: String?
    for raw in text.split(whereSeparator: \.isNewline) {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
      if line.hasPrefix("[") && line.hasSuffix("]") {
        let name = line.dropFirst().dropLast().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        current = name
        sections[name, default: [:]] = sections[name] ?? [:]
        continue
      }
      guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
      let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      sections[section, default: [:]][key] = value
    }
    return sections
  }
}

/// The region to use: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region` in the
/// shared config file; `nil` when none is set.
public func awsRegion(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
  for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
    if let value = environment[name], !value.isEmpty { return value }
  }
  return try? AWSSharedFiles(environment: environment).settings()["region"]
}

/// Tries each provider in turn and keeps the first that has credentials configured, as the AWS
/// SDKs do; later calls ask that provider only.
public actor S3CredentialChain: S3CredentialProvider {
  private let providers: [(name: String, provider: any S3CredentialProvider)]
  private var chosen: (any S3CredentialProvider)?

  /// A chain of named providers, tried in order.
  public init(_ providers: [(name: String, provider: any S3CredentialProvider)]) {
    self.providers = providers
  }

  /// The order of the AWS SDKs: environment, shared files (profile), web identity, container
  /// endpoint, then instance metadata (IMDSv2, unless `AWS_EC2_METADATA_DISABLED=true`). The
  /// temporary ones are refreshed before they expire.
  public static func standard(
    environment: [String: String] = ProcessInfo.processInfo.environment,
    http: S3HTTPTransport
  ) -> S3CredentialChain {
    S3CredentialChain([
      ("environment", S3EnvironmentCredentials(environment: environment)),
      ("shared files", S3ProfileCredentials(environment: environment)),
      ("web identity", S3RefreshingCredentials(S3WebIdentityCredentials(environment: environment, http: http))),
      ("container", S3RefreshingCredentials(S3ContainerCredentials(environment: environment, http: http))),
      ("instance metadata", S3RefreshingCredentials(S3InstanceMetadataCredentials(environment: environment, http: http))),
    ])
  }

  /// Credentials from the first provider that has them configured.
  public func credentials() async throws -> S3Credentials {
    if let chosen { return try await chosen.credentials() }
    for (_, provider) in self.providers {
      do {
        let credentials = try await provider.credentials()
        self.chosen = provider
        return credentials
      } catch S3CredentialError.notConfigured {
        continue
      }
    }
    throw S3CredentialError.noCredentials(tried: self.providers.map(\.name))
  }
}

/// Caches temporary credentials and fetches new ones from its provider `refreshMargin` before they
/// expire (five minutes by default); concurrent callers share one fetch.
public actor S3RefreshingCredentials: S3CredentialProvider {
  private let provider: any S3CredentialProvider
  private let refreshMargin: TimeInterval
  private var current: S3Credentials?
  private var refresh: Task<S3Credentials, any Error>?
  /// How many fetches were made, for tests.
  package private(set) var fetches = 0

  /// A cache in front of `provider`.
  public init(_ provider: any S3CredentialProvider, refreshMargin: TimeInterval = 300) {
    self.provider = provider
    self.refreshMargin = refreshMargin
  }

  /// The cached credentials while they have more than the margin left, else new ones.
  public func credentials() async throws -> S3Credentials {
    if let current, !self.isStale(current) { return current }
    if let refresh { return try await refresh.value }
    let provider = self.provider
    let task = Task { try await provider.credentials() }
    self.refresh = task
    self.fetches += 1
    defer { self.refresh = nil }
    let fresh = try await task.value
    self.current = fresh
    return fresh
  }

  private func isStale(_ credentials: S3Credentials) -> Bool {
    guard let expiration = credentials.expiration else { return false }
    return expiration.timeIntervalSinceNow <= self.refreshMargin
  }
}
