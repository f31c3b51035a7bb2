/// A customer of the server: its jobs, tokens and warehouse schema are its own.
package struct Tenant: Hashable, Sendable {
  /// The id clients send in `x-tenant-id`.
  package var id: String
  /// The tenant's schema in a PostgreSQL or Redshift warehouse.
  package var schema: String

  package init(id: String, schema: String? = nil) {
    self.id = id
    self.schema = schema ?? Self.defaultSchema(for: id)
  }

  /// The id with every character outside `[a-z0-9_]` replaced by `_`.
  package static func defaultSchema(for id: String) -> String {
    String(
      id.map { character -> Character in
        switch character {
        case "a" ... "z", "0" ... "9", "_": character
        default: "_"
        }
      }
    )
  }
}
