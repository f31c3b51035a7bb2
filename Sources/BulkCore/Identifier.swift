internal import Foundation

/// SQL identifiers (tables, columns, schemas) that the server accepts from clients.
///
/// Names are checked here and always quoted when they reach SQL, so a name such as
/// `x"; DROP TABLE y; --` is refused long before any statement is built.
package enum Identifier {
  /// The longest identifier Redshift and PostgreSQL both accept.
  package static let maxLength = 63

  /// Whether `name` is a letter or underscore followed by letters, digits, underscores or `$`,
  /// at most `maxLength` bytes.
  package static func isValid(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard let first = bytes.first, bytes.count <= Self.maxLength else { return false }
    guard Self.isLetter(first) || first == UInt8(ascii: "_") else { return false }
    return bytes.dropFirst().allSatisfy { byte in
      Self.isLetter(byte) || (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(byte)
        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$")
    }
  }

  /// `name` as a quoted SQL identifier, for PostgreSQL, Redshift and SQLite alike: in double
  /// quotes, embedded double quotes doubled. Every schema, table and column name reaches SQL
  /// through here and nowhere else.
  package static func quoted(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  private static func isLetter(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A") ... UInt8(ascii: "Z")).contains(byte)
  }
}
