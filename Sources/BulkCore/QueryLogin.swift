/// The credentials a tenant's query jobs log in to a PostgreSQL or Redshift warehouse with.
///
/// Tenant-written SQL never runs on the loader's connections: it runs on connections logged in
/// as a role of the tenant's own, which may read the tenant's schema and nothing else. The
/// tenants file names that role, or the warehouse provisions one (see the README's security
/// section).
///
/// The password is a secret: `description` never shows it, nor a password written inside `url`.
package struct QueryLogin: Hashable, Sendable, CustomStringConvertible {
  /// Where the tenant's query connections go.
  package enum Target: Hashable, Sendable {
    /// A libpq URL of its own (`postgresql://role@host:port/db`).
    case url(String)
    /// A role on the warehouse's own host and database.
    case role(String)
  }

  /// Where the connections go and as whom.
  package var target: Target
  /// The role's password, when it is not in the URL or in libpq's password file.
  package var password: String?

  package init(_ target: Target, password: String? = nil) {
    self.target = target
    self.password = password
  }

  package var description: String {
    let place =
      switch self.target {
      case .url(let url): "query_url \(Self.redacted(url))"
      case .role(let role): "query_role \(role)"
      }
    return self.password == nil ? place : place + " (with a password)"
  }

  /// `url` with the password of its user information, if any, replaced by `***`.
  package static func redacted(_ url: String) -> String {
    guard let scheme = url.firstRange(of: "://") else { return url }
    let rest = url[scheme.upperBound...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@"),
      let colon = rest[..<at].firstIndex(of: ":")
    else { return url }
    return String(url[..<rest.index(after: colon)]) + "***" + String(url[at...])
  }
}
