internal import BulkCore
internal import Foundation

/// The role a tenant's query jobs log in as, and the checks that make it a fence.
///
/// Tenant-written SQL runs on a connection of that role's own, never on the loader's: whatever
/// the SQL spells (`SET ROLE`, `set_config('role', …)`, `SET SESSION AUTHORIZATION`, SQL passed
/// as text to a function, escaped identifiers), it runs with the role's privileges, which reach
/// the tenant's schema and nothing else.
///
/// The tenants file may name the role (`query_url` or `query_role`); otherwise the server
/// provisions `spectra_query_<schema>`: `LOGIN`, member of nothing, with a random password kept
/// by `QueryRolePasswords`. Either way, the loader grants the role `USAGE` on the schema and
/// `SELECT` on its tables before each job (tables may have been added), and each job checks, on
/// the role's own connection, that the role holds no more than that.
struct PostgresQueryRole {
  /// What `COMMENT ON ROLE` says of a role the server made, so that it never takes over (or
  /// changes the password of) a role an operator made.
  static let managedComment = "spectra-bulk query role"

  let tenant: Tenant

  /// The role the server provisions for the tenant's schema: at most 63 bytes, PostgreSQL's
  /// limit, so a long schema name is shortened and made unique again with a hash of it.
  var provisionedName: String {
    let name = "spectra_query_" + self.tenant.schema
    guard name.utf8.count > 63 else { return name }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in self.tenant.schema.utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(decoding: Array(name.utf8.prefix(63 - hex.count - 1)), as: UTF8.self) + "_" + hex
  }

  /// The role the tenants file names, if it names one by `query_role`.
  private var configuredRole: String? {
    if case .role(let role) = self.tenant.queryLogin?.target { role } else { nil }
  }

  /// How to log in as the tenant's role, provisioning it on `loader` when the tenants file names
  /// none; then the grants the role needs, brought up to date.
  ///
  /// - Parameter warehouseURL: the loader's URL, whose host and database a provisioned or
  ///   `query_role` login uses.
  func prepare(
    warehouseURL: String,
    passwords: QueryRolePasswords,
    on loader: PostgresConnection
  ) throws -> PostgresLogin {
    let login: PostgresLogin
    let role: String?
    switch self.tenant.queryLogin {
    case let configured?:
      switch configured.target {
      case .url(let url): login = PostgresLogin(url: url, password: configured.password)
      case .role(let name): login = PostgresLogin(url: warehouseURL, user: name, password: configured.password)
      }
      role = self.configuredRole
    case nil:
      let name = self.provisionedName
      let password: String
      do {
        password = try self.provision(name, passwords: passwords, on: loader)
      } catch let error as PostgresError where !error.isConnectionFailure {
        throw BulkError.queryRefused(
          "query jobs of tenant \(self.tenant.id) log in as a role of their own, and the server could not "
            + "provision \(name) (\(error.message)): name one in the tenants file (query_url or query_role) "
            + "or give the server's login role CREATEROLE"
        )
      }
      login = PostgresLogin(url: warehouseURL, user: name, password: password)
      role = name
    }
    if let role {
      try self.grant(to: role, provisioned: self.tenant.queryLogin == nil, on: loader)
    }
    return login
  }

  /// Makes the provisioned role exist with a password the server knows; returns the password.
  private func provision(_ role: String, passwords: QueryRolePasswords, on loader: PostgresConnection) throws -> String {
    try self.retryingConcurrentChanges(on: loader) {
      let rows = try loader.query(
        "SELECT shobj_description(oid, 'pg_authid') FROM pg_catalog.pg_roles WHERE rolname = $1",
        [role]
      )
      if let row = rows.first {
        guard row[0] == Self.managedComment else {
          throw BulkError.queryRefused(
            "the role \(role) exists but was not made by spectra-bulk, so the server will not log in as it; "
              + "name it in the tenants file (query_role with query_password_file) or drop it"
          )
        }
        if let password = try passwords.password(of: role) { return password }
        let password = try passwords.makePassword(of: role)
        try loader.execute(
          "ALTER ROLE \(Identifier.quoted(role)) PASSWORD \(SQLDialect.literal(try loader.encryptedPassword(password, role: role)))"
        )
        return password
      }
      let password = try passwords.makePassword(of: role)
      try loader.execute("BEGIN")
      try loader.execute(
        """
        CREATE ROLE \(Identifier.quoted(role)) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT \
        NOREPLICATION NOBYPASSRLS PASSWORD \(SQLDialect.literal(try loader.encryptedPassword(password, role: role)))
        """
      )
      try loader.execute("COMMENT ON ROLE \(Identifier.quoted(role)) IS \(SQLDialect.literal(Self.managedComment))")
      try loader.execute("COMMIT")
      return password
    }
  }

  /// Grants `USAGE` on the schema and `SELECT` on its tables and views when any is missing. A
  /// configured role may have been granted by an operator whose tables the server may not grant
  /// on: then the job goes on, and a table the role cannot read fails the query with the reason.
  private func grant(to role: String, provisioned: Bool, on loader: PostgresConnection) throws {
    let schema = Identifier.quoted(self.tenant.schema)
    do {
      try self.retryingConcurrentChanges(on: loader) {
        guard try !self.hasGrants(role, on: loader) else { return }
        try loader.execute("BEGIN")
        try loader.execute("GRANT USAGE ON SCHEMA \(schema) TO \(Identifier.quoted(role))")
        try loader.execute("GRANT SELECT ON ALL TABLES IN SCHEMA \(schema) TO \(Identifier.quoted(role))")
        try loader.execute("COMMIT")
      }
    } catch let error as PostgresError where !error.isConnectionFailure {
      guard provisioned else { return }
      throw BulkError.queryRefused(
        "query jobs log in as the role \(role), which the server could not grant SELECT on schema "
          + "\(self.tenant.schema) (\(error.message)): run `GRANT USAGE ON SCHEMA \(schema) TO \(Identifier.quoted(role)); "
          + "GRANT SELECT ON ALL TABLES IN SCHEMA \(schema) TO \(Identifier.quoted(role))` as the tables' owner"
      )
    }
  }

  /// Whether `role` may use the schema and read every table, view and foreign table in it.
  private func hasGrants(_ role: String, on loader: PostgresConnection) throws -> Bool {
    let rows = try loader.query(
      """
      SELECT has_schema_privilege(r.oid, n.oid, 'USAGE')
        AND NOT EXISTS (
          SELECT 1 FROM pg_catalog.pg_class c
          WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
            AND NOT has_table_privilege(r.oid, c.oid, 'SELECT'))
      FROM pg_catalog.pg_roles r, pg_catalog.pg_namespace n
      WHERE r.rolname = $1 AND n.nspname = $2
      """,
      [role, self.tenant.schema]
    )
    return rows.first?.first == "t"
  }

  /// Runs `body` again (twice at most) when a concurrent setup of the same role, by another job
  /// or another server, changed the same catalog rows: PostgreSQL then fails one side with
  /// "tuple concurrently updated" or a duplicate. No advisory lock: a tenant's own SQL could hold
  /// it.
  private func retryingConcurrentChanges<T>(on loader: PostgresConnection, _ body: () throws -> T) throws -> T {
    var attempt = 0
    while true {
      do {
        return try body()
      } catch let error as PostgresError where !error.isConnectionFailure && attempt < 2 {
        if loader.isInTransaction { _ = try? loader.execute("ROLLBACK") }
        guard ["XX000", "23505", "42710", "40001", "40P01"].contains(error.sqlState ?? "") else { throw error }
        attempt += 1
      } catch {
        if loader.isInTransaction { _ = try? loader.execute("ROLLBACK") }
        throw error
      }
    }
  }

  /// On the tenant's own connection: refuses a login that holds more than reading the tenant's
  /// schema (a superuser, a role that may create roles or databases, replicate or bypass row
  /// security, a member of any role, or one that may create objects in the schema, as the loader
  /// may), naming what is wrong.
  static func checkFence(schema: String, on connection: PostgresConnection) throws {
    let rows = try connection.query(
      """
      SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
        (SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname) FROM pg_catalog.pg_auth_members m
           JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid),
        (SELECT has_schema_privilege(r.oid, n.oid, 'CREATE') FROM pg_catalog.pg_namespace n WHERE n.nspname = $1)
      FROM pg_catalog.pg_roles r WHERE r.rolname = session_user
      """,
      [schema]
    )
    guard let row = rows.first, let name = row[0] else {
      throw BulkError.queryRefused("the query login's role cannot be read from pg_roles")
    }
    var excess: [String] = []
    for (index, attribute) in ["SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS"].enumerated()
    where row[index + 1] == "t" {
      excess.append(attribute)
    }
    if let memberships = row[6] { excess.append("member of \(memberships)") }
    if row[7] == "t" { excess.append("CREATE on schema \(schema)") }
    guard excess.isEmpty else {
      throw BulkError.queryRefused(
        "the tenant's query login \(name) holds more than reading schema \(schema) (\(excess.joined(separator: "; "))), "
          + "so the server will not run tenant SQL as it: give query jobs a role that is member of nothing, "
          + "with USAGE on the schema and SELECT on its tables only"
      )
    }
  }
}
