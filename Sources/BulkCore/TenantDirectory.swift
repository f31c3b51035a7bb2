internal import Crypto
package import Foundation

/// The tenants the server knows and the tokens that authenticate them.
///
/// Tokens are kept only as SHA-256 digests. A presented token is hashed and compared with every
/// digest in constant time, so neither the match nor its position leaks through timing.
package struct TenantDirectory: Sendable {
  private struct Credential: Sendable {
    var digest: [UInt8]
    var tenant: Tenant
  }

  private let credentials: [Credential]
  /// Every tenant, in the order of the tenants file.
  package let tenants: [Tenant]
  private let tenantsByID: [String: Tenant]

  /// A directory of tenants with the SHA-256 digests of their tokens.
  package init(_ entries: [(tenant: Tenant, tokenDigests: [[UInt8]])]) {
    self.tenants = entries.map(\.tenant)
    self.tenantsByID = Dictionary(entries.map { ($0.tenant.id, $0.tenant) }, uniquingKeysWith: { first, _ in first })
    self.credentials = entries.flatMap { entry in
      entry.tokenDigests.map { Credential(digest: $0, tenant: entry.tenant) }
    }
  }

  /// The one development tenant, `tenant-123`, with a single token.
  package static func development(token: String) -> TenantDirectory {
    TenantDirectory([(Tenant(id: Self.developmentTenantID), [Self.digest(of: token)])])
  }

  /// The id of the tenant a server without a tenants file serves.
  package static let developmentTenantID = "tenant-123"

  /// The SHA-256 digest of a token.
  package static func digest(of token: String) -> [UInt8] {
    Array(SHA256.hash(data: Data(token.utf8)))
  }

  /// The tenant with this id, or `nil`.
  package func tenant(id: String) -> Tenant? {
    self.tenantsByID[id]
  }

  /// The tenant whose token this is, or `nil`.
  package func tenant(forToken token: String) -> Tenant? {
    let presented = Self.digest(of: token)
    var found: Tenant?
    for credential in self.credentials {
      var difference: UInt8 = 0
      for (a, b) in zip(presented, credential.digest) {
        difference |= a ^ b
      }
      if difference == 0 && found == nil {
        found = credential.tenant
      }
    }
    return found
  }

  /// Authenticates a call from its `authorization` and `x-tenant-id` values.
  ///
  /// - Throws: `UNAUTHENTICATED` for a missing, malformed or unknown token;
  ///   `PERMISSION_DENIED` when `x-tenant-id` names another tenant than the token's.
  package func authenticate(authorization: String?, tenantHeader: String?) throws(BulkError) -> Tenant {
    guard let authorization, !authorization.isEmpty else {
      throw BulkError(code: .unauthenticated, message: "missing authorization: send 'Bearer <token>'")
    }
    let scheme = "bearer "
    guard authorization.count > scheme.count, authorization.prefix(scheme.count).lowercased() == scheme
    else {
      throw BulkError(code: .unauthenticated, message: "authorization must be 'Bearer <token>'")
    }
    let token = authorization.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
    guard let tenant = self.tenant(forToken: token) else {
      throw BulkError(code: .unauthenticated, message: "the bearer token is not valid")
    }
    if let tenantHeader, !tenantHeader.isEmpty, tenantHeader != tenant.id {
      throw BulkError(
        code: .permissionDenied,
        message: "x-tenant-id '\(tenantHeader)' is not the tenant of the bearer token"
      )
    }
    return tenant
  }
}

extension TenantDirectory {
  private struct File: Decodable {
    struct Entry: Decodable {
      var id: String
      var tokens: [String]
      var schema: String?
      var queryURL: String?
      var queryRole: String?
      var queryPasswordFile: String?
      var queryPasswordEnv: String?

      enum CodingKeys: String, CodingKey {
        case id, tokens, schema
        case queryURL = "query_url"
        case queryRole = "query_role"
        case queryPasswordFile = "query_password_file"
        case queryPasswordEnv = "query_password_env"
      }
    }
    var tenants: [Entry]
  }

  /// Reads a tenants file:
  /// `{"tenants": [{"id": "t", "tokens": ["sha256:<hex>"], "schema": "t"}]}`, each tenant
  /// optionally with the login of its query jobs (`query_url` or `query_role`, and
  /// `query_password_file` or `query_password_env`). A relative password file is found beside
  /// the tenants file.
  ///
  /// - Returns: the directory, and a warning for each token written in plain text and each
  ///   password file that others may read.
  package static func load(
    contentsOf url: URL,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(BulkError) -> (TenantDirectory, warnings: [String]) {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw .invalidArgument("cannot read tenants file \(url.path): \(error.localizedDescription)")
    }
    return try Self.parse(
      data,
      source: url.path,
      baseDirectory: url.deletingLastPathComponent(),
      environment: environment
    )
  }

  /// Parses the JSON of a tenants file; `source` names it in error messages, relative password
  /// files are read from `baseDirectory`, and `query_password_env` names a variable of
  /// `environment`.
  ///
  /// Two tenants that would share storage are refused, both named: the same schema (which the
  /// default schema makes of `team-a` and `team_a`), or embedded warehouse files whose names differ
  /// only in case (one file on a case-insensitive file system).
  package static func parse(
    _ data: Data,
    source: String,
    baseDirectory: URL? = nil,
    environment: [String: String] = [:]
  ) throws(BulkError) -> (TenantDirectory, warnings: [String]) {
    let file: File
    do {
      file = try JSONDecoder().decode(File.self, from: data)
    } catch {
      throw .invalidArgument("tenants file \(source) is not valid: \(error)")
    }
    var warnings: [String] = []
    var seen: Set<String> = []
    var schemas: [String: String] = [:]
    var fileNames: [String: String] = [:]
    var entries: [(tenant: Tenant, tokenDigests: [[UInt8]])] = []
    for (index, entry) in file.tenants.enumerated() {
      let place = "tenants file \(source), tenants[\(index)]"
      guard !entry.id.isEmpty else { throw .invalidArgument("\(place): id is empty") }
      guard seen.insert(entry.id).inserted else {
        throw .invalidArgument("\(place): tenant '\(entry.id)' appears twice")
      }
      if let schema = entry.schema, !Identifier.isValid(schema) {
        throw .invalidArgument("\(place): schema '\(schema)' is not a valid identifier")
      }
      var digests: [[UInt8]] = []
      for (tokenIndex, token) in entry.tokens.enumerated() {
        if token.hasPrefix("sha256:") {
          guard let digest = Hex.bytes(token.dropFirst("sha256:".count)), digest.count == 32 else {
            throw .invalidArgument("\(place).tokens[\(tokenIndex)]: expected sha256: and 64 hex digits")
          }
          digests.append(digest)
        } else {
          guard !token.isEmpty else { throw .invalidArgument("\(place).tokens[\(tokenIndex)]: empty token") }
          warnings.append("\(place).tokens[\(tokenIndex)] is a plain token; store 'sha256:<hex>' instead")
          digests.append(Self.digest(of: token))
        }
      }
      let login = try Self.queryLogin(entry, place: place, baseDirectory: baseDirectory, environment: environment)
      if let warning = login.warning { warnings.append(warning) }
      let tenant = Tenant(id: entry.id, schema: entry.schema, queryLogin: login.login)
      if let other = schemas.updateValue(entry.id, forKey: tenant.schema) {
        throw .invalidArgument(
          "\(place): tenants '\(other)' and '\(entry.id)' would share the schema '\(tenant.schema)'; "
            + "give one of them a schema of its own"
        )
      }
      if let other = fileNames.updateValue(entry.id, forKey: tenant.warehouseFileName.lowercased()) {
        throw .invalidArgument(
          "\(place): tenants '\(other)' and '\(entry.id)' would share the embedded warehouse file "
            + "'\(tenant.warehouseFileName)' (names that differ only in case are one file on some file systems)"
        )
      }
      entries.append((tenant, digests))
    }
    return (TenantDirectory(entries), warnings)
  }

  /// The entry's query login, if it names one; the password is read now, so that a missing one
  /// stops the server at start rather than failing its first query job.
  private static func queryLogin(
    _ entry: File.Entry,
    place: String,
    baseDirectory: URL?,
    environment: [String: String]
  ) throws(BulkError) -> (login: QueryLogin?, warning: String?) {
    let target: QueryLogin.Target
    switch (entry.queryURL, entry.queryRole) {
    case (nil, nil):
      guard entry.queryPasswordFile == nil, entry.queryPasswordEnv == nil else {
        throw .invalidArgument("\(place): a query password needs query_url or query_role")
      }
      return (nil, nil)
    case (let url?, nil):
      guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
        throw .invalidArgument("\(place).query_url: expected a postgresql:// URL")
      }
      target = .url(url)
    case (nil, let role?):
      guard Identifier.isValid(role) else {
        throw .invalidArgument("\(place).query_role: '\(role)' is not a valid role name")
      }
      target = .role(role)
    case (.some, .some):
      throw .invalidArgument("\(place): give query_url or query_role, not both")
    }
    switch (entry.queryPasswordFile, entry.queryPasswordEnv) {
    case (nil, nil):
      return (QueryLogin(target), nil)
    case (let path?, nil):
      let url =
        if let baseDirectory, !path.hasPrefix("/") {
          baseDirectory.appendingPathComponent(path)
        } else {
          URL(fileURLWithPath: path)
        }
      guard let data = FileManager.default.contents(atPath: url.path) else {
        throw .invalidArgument("\(place).query_password_file: cannot read \(url.path)")
      }
      let password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
      guard !password.isEmpty else { throw .invalidArgument("\(place).query_password_file: \(url.path) is empty") }
      let mode = (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? 0
      let warning =
        mode & 0o077 != 0
        ? "\(place).query_password_file \(url.path) may be read by others (mode \(String(mode, radix: 8))); make it 0600"
        : nil
      return (QueryLogin(target, password: password), warning)
    case (nil, let name?):
      guard let password = environment[name], !password.isEmpty else {
        throw .invalidArgument("\(place).query_password_env: the environment variable \(name) is not set")
      }
      return (QueryLogin(target, password: password), nil)
    case (.some, .some):
      throw .invalidArgument("\(place): give query_password_file or query_password_env, not both")
    }
  }
}
