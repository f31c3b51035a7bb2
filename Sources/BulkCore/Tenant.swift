/// A customer of the server: its jobs, tokens and warehouse schema are its own.
package struct Tenant: Hashable, Sendable {
  /// The id clients send in `x-tenant-id`.
  package var id: String
  /// The tenant's schema in a PostgreSQL or Redshift warehouse.
  package var schema: String
  /// The login its query jobs use on a PostgreSQL or Redshift warehouse; `nil` lets the
  /// warehouse provision one.
  package var queryLogin: QueryLogin?

  package init(id: String, schema: String? = nil, queryLogin: QueryLogin? = nil) {
    self.id = id
    self.schema = schema ?? Self.defaultSchema(for: id)
    self.queryLogin = queryLogin
  }

  /// The name of the tenant's embedded warehouse file, without the folder: the id with
  /// characters other than letters, digits, `-`, `_` and an inner `.` percent-encoded, so that no
  /// tenant id can name a path outside the folder.
  package var warehouseFileName: String {
    var name = ""
    for byte in self.id.utf8 {
      switch byte {
      case UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "A") ... UInt8(ascii: "Z"),
        UInt8(ascii: "0") ... UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
        name.append(Character(UnicodeScalar(byte)))
      case UInt8(ascii: ".") where !name.isEmpty:
        name.append(".")
      default:
        name += "%" + Hex.string([byte]).uppercased()
      }
    }
    return name + ".sqlite"
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
