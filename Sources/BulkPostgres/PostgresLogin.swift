internal import BulkCore

/// Where a connection goes and as whom: a libpq URL (or key/value string), and a user and
/// password that override what it says.
package struct PostgresLogin: Hashable, Sendable, CustomStringConvertible {
  /// A `postgresql://` URL or a libpq key/value string.
  package var url: String
  /// The role to log in as, instead of the URL's user.
  package var user: String?
  /// The password, instead of the URL's or libpq's password file's; never shown.
  package var password: String?

  package init(url: String, user: String? = nil, password: String? = nil) {
    self.url = url
    self.user = user
    self.password = password
  }

  package var description: String {
    QueryLogin.redacted(self.url) + (self.user.map { " as \($0)" } ?? "")
  }
}
