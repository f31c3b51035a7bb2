package import BulkCore
internal import Foundation

/// The SQL spoken by the warehouse: PostgreSQL itself, or Amazon Redshift, which shares the wire
/// protocol and most of the grammar but has no `COPY FROM STDIN`, `ON CONFLICT`, `RETURNING`,
/// savepoints or advisory locks.
///
/// Everything here is a pure function of its arguments, so the SQL of both dialects is tested
/// without a database.
package enum SQLDialect: String, Hashable, Sendable {
  /// PostgreSQL: `COPY FROM STDIN`, `ON CONFLICT`, `RETURNING`, savepoints.
  case postgres
  /// Amazon Redshift: loads from S3, `MERGE`, no savepoints.
  case redshift

  /// `"schema"."name"`.
  package static func qualified(_ schema: String, _ name: String) -> String {
    Identifier.quoted(schema) + "." + Identifier.quoted(name)
  }

  /// `text` as a SQL string literal, for the few places that take no parameter (a Redshift
  /// `COPY`'s S3 location and role): in single quotes, quotes and backslashes doubled, since
  /// Redshift reads a backslash in a literal as an escape.
  package static func literal(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''") + "'"
  }

  /// The libpq URL and the dialect for a configured warehouse URL: `redshift://…` selects
  /// Redshift and is rewritten to `postgresql://…`, which libpq understands; anything else is
  /// passed on as it is, with `fallback`.
  package static func resolve(url: String, fallback: SQLDialect) -> (url: String, dialect: SQLDialect) {
    let scheme = "redshift://"
    guard url.lowercased().hasPrefix(scheme) else { return (url, fallback) }
    return ("postgresql://" + url.dropFirst(scheme.count), .redshift)
  }

  /// `declaredType` without its length, precision or scale, for casting a staged text value:
  /// an explicit cast to `character varying(3)` would silently cut a longer value, whereas the
  /// assignment of the unconstrained value to the column applies the limit and fails with
  /// `value too long`, as a direct load does. `character` and `bit` without a length mean a
  /// length of one, so they become `bpchar` and `bit varying`.
  package static func castType(_ declaredType: String) -> String {
    var result = ""
    var inQuotes = false
    var index = declaredType.startIndex
    while index < declaredType.endIndex {
      let character = declaredType[index]
      if character == "\"" { inQuotes.toggle() }
      if !inQuotes, character == "(",
        let close = declaredType[index...].firstIndex(of: ")"),
        declaredType[declaredType.index(after: index) ..< close].allSatisfy({
          $0.isNumber || $0 == "," || $0 == " " || $0 == "-"
        })
      {
        index = declaredType.index(after: close)
        continue
      }
      result.append(character)
      index = declaredType.index(after: index)
    }
    var arraySuffix = ""
    while result.hasSuffix("[]") {
      result.removeLast(2)
      arraySuffix += "[]"
    }
    switch result {
    case "character": result = "bpchar"
    case "bit": result = "bit varying"
    default: break
    }
    return result + arraySuffix
  }

  // MARK: The catalog

  /// The table's oid: `$1` schema, `$2` table name; no row when there is no such table.
  package var tableOID: String {
    let kinds = self == .postgres ? "'r', 'p'" : "'r'"
    return """
      SELECT c.oid FROM pg_catalog.pg_class AS c \
      JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace \
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN (\(kinds))
      """
  }

  /// The table's columns in order (`$1` the table's oid): number, name, declared type, not null,
  /// has a default (or is generated), the base type's name.
  package var tableColumns: String {
    // Redshift's catalog predates identity and generated columns and domains.
    let hasDefault =
      self == .postgres
      ? "a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' OR ty.typdefault IS NOT NULL"
      : "a.atthasdef"
    let notNull = self == .postgres ? "a.attnotnull OR ty.typnotnull" : "a.attnotnull"
    return """
      SELECT a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), \(notNull), \(hasDefault), \
      bt.typname \
      FROM pg_catalog.pg_attribute AS a \
      JOIN pg_catalog.pg_type AS ty ON ty.oid = a.atttypid \
      JOIN pg_catalog.pg_type AS bt ON bt.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END \
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
      ORDER BY a.attnum
      """
  }

  /// The table's unique keys (`$1` the table's oid): whether primary, the column numbers (as
  /// text, key columns first), the number of key columns (`NULL`: all), and whether the key can
  /// serve as an upsert key alone (not partial, not on an expression, not deferrable).
  package var tableKeys: String {
    switch self {
    case .postgres:
      return """
        SELECT i.indisprimary, i.indkey::text, i.indnkeyatts, \
        i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL \
        FROM pg_catalog.pg_index AS i \
        WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid \
        ORDER BY i.indisprimary DESC, i.indexrelid
        """
    case .redshift:
      // Redshift keeps keys as (unenforced) constraints, not indexes.
      return """
        SELECT con.contype = 'p', con.conkey, NULL, true \
        FROM pg_catalog.pg_constraint AS con \
        WHERE con.conrelid = $1 AND con.contype IN ('p', 'u') \
        ORDER BY con.contype, con.oid
        """
    }
  }

  /// The column family of a base type name from `pg_type.typname`.
  package static func columnType(typeName: String) -> ColumnType {
    switch typeName {
    case "int2", "int4", "int8": .integer
    case "float4", "float8": .double
    case "numeric": .decimal
    case "bool": .boolean
    case "text", "varchar", "bpchar", "char": .text
    case "date": .date
    case "timestamp", "timestamptz": .timestamp
    case "bytea", "varbyte": .bytes
    case "json", "jsonb": .json
    default: .other
    }
  }
}
