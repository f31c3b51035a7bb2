internal import BulkCore

/// The role a tenant's query jobs run as: `spectra_reader_<schema>`, `NOLOGIN`, with `USAGE` on
/// the tenant's schema and `SELECT` on its tables and views, and nothing else.
///
/// The server creates it on a tenant's first query job and grants it `SELECT` on tables added
/// since, before each job. That needs a login role that may create roles (`CREATEROLE`) and grant
/// on the tenant's tables (their owner); otherwise an administrator creates the role with those
/// grants and grants it to the server's login role, and the server only checks it.
struct PostgresReaderRole {
  let schema: String

  /// The role's name: at most 63 bytes, PostgreSQL's limit, so a long schema name is shortened
  /// and made unique again with a hash of it.
  var name: String {
    let name = "spectra_reader_" + self.schema
    guard name.utf8.count > 63 else { return name }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in self.schema.utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(decoding: Array(name.utf8.prefix(63 - hex.count - 1)), as: UTF8.self) + "_" + hex
  }

  /// Creates the role and brings its grants up to date when anything is missing; one setup at a
  /// time across servers (an advisory lock), since concurrent grants on one catalog row fail.
  func prepare(on connection: PostgresConnection) throws {
    let role = self.name
    guard try !self.isReady(on: connection) else { return }
    do {
      try connection.execute("BEGIN")
      _ = try connection.query("SELECT pg_advisory_xact_lock(hashtext('spectra_reader_roles'))")
      if try connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]).isEmpty {
        try connection.execute("CREATE ROLE \(Identifier.quoted(role)) NOLOGIN")
      }
      try connection.execute("GRANT USAGE ON SCHEMA \(Identifier.quoted(self.schema)) TO \(Identifier.quoted(role))")
      try connection.execute(
        "GRANT SELECT ON ALL TABLES IN SCHEMA \(Identifier.quoted(self.schema)) TO \(Identifier.quoted(role))"
      )
      if try connection.query("SELECT pg_has_role(current_user, $1, 'MEMBER')", [role]).first?.first != "t" {
        try connection.execute("GRANT \(Identifier.quoted(role)) TO CURRENT_USER")
      }
      try connection.execute("COMMIT")
    } catch let error as PostgresError where !error.isConnectionFailure {
      if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
      throw BulkError.queryRefused(
        "query jobs read as the role \(role), which the server could not set up (\(error.message)): "
          + "create it with USAGE on schema \(self.schema) and SELECT on its tables, and grant it to the server's login role"
      )
    }
  }

  /// Whether the role exists, the server may act as it, and it may read every table of the
  /// schema.
  private func isReady(on connection: PostgresConnection) throws -> Bool {
    let rows = try connection.query(
      """
      SELECT pg_has_role(current_user, r.oid, 'MEMBER')
        AND has_schema_privilege(r.oid, n.oid, 'USAGE')
        AND NOT EXISTS (
          SELECT 1 FROM pg_class c
          WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
            AND NOT has_table_privilege(r.oid, c.oid, 'SELECT'))
      FROM pg_roles r, pg_namespace n
      WHERE r.rolname = $1 AND n.nspname = $2
      """,
      [self.name, self.schema]
    )
    return rows.first?.first == "t"
  }
}
