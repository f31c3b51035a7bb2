import BulkCore
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Tenant isolation on a real PostgreSQL, by the database's own privileges: two tenants, a secret
/// in tenant B's schema, and tenant A's query jobs trying every known way past the word filter.
/// Each statement below is spelled so that `QueryText` lets it through (escaped identifiers,
/// functions that take SQL as text), so what stops it is the role A's queries log in as.
@Suite("Tenant isolation on PostgreSQL")
struct TenantIsolationTests {
  static let secret = "b-secret-4711"

  /// Tenants A and B in schemas of their own, B's holding `secret` rows, and one warehouse (its
  /// loader logged in as the cluster's superuser, as a careless deployment would be).
  struct Pair {
    let cluster: PostgresCluster
    let a: Tenant
    let b: Tenant
    let warehouse: PostgresWarehouse

    static func make(a login: QueryLogin? = nil) async throws -> Pair {
      let cluster = try await PostgresCluster.shared()
      let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
      let (a, b) = ("iso_a_\(suffix)", "iso_b_\(suffix)")
      try cluster.psql(
        """
        CREATE SCHEMA \(a); CREATE TABLE \(a).items (id int PRIMARY KEY, name text);
        INSERT INTO \(a).items VALUES (1, 'mine');
        CREATE SCHEMA \(b); CREATE TABLE \(b).secret (id int PRIMARY KEY, value text);
        INSERT INTO \(b).secret SELECT n, '\(TenantIsolationTests.secret)' FROM generate_series(1, 50) n;
        ANALYZE \(b).secret;
        """
      )
      return Pair(
        cluster: cluster,
        a: Tenant(id: "tenant-\(a)", schema: a, queryLogin: login),
        b: Tenant(id: "tenant-\(b)", schema: b),
        warehouse: PostgresWarehouse(url: cluster.url(), poolSize: 2, logger: Logger(label: "test"))
      )
    }

    /// Runs `sql` as a query job of `tenant` and returns its CSV, or throws what failed it.
    func query(_ sql: String, as tenant: Tenant? = nil, cancellation: QueryCancellation = QueryCancellation())
      async throws -> String
    {
      let sink = CSVSink()
      let request = QueryRequest(
        jobID: "job-\(UUID().uuidString)",
        sql: sql,
        output: .csv(delimiter: UInt8(ascii: ",")),
        timeout: .seconds(60),
        cancellation: cancellation
      )
      _ = try await self.warehouse.export(request, tenant: tenant ?? self.a, into: sink)
      return sink.text
    }
  }

  /// Collects a query's CSV rows.
  final class CSVSink: QueryRowSink {
    private let bytes = Mutex<[UInt8]>([])

    var text: String { self.bytes.withLock { String(decoding: $0, as: UTF8.self) } }

    func columns(_ columns: [QueryColumn]) throws {}

    func rows(_ batch: QueryRows) throws {
      if case .csv(let bytes, _) = batch {
        self.bytes.withLock { $0 += bytes }
      }
    }
  }

  /// `name` as a `U&"…"` identifier with its last character escaped, which the word filter
  /// does not decode and PostgreSQL does.
  static func escaped(_ name: String) -> String {
    let last = name.unicodeScalars.last!
    return #"U&""# + name.dropLast() + #"\"# + String(format: "%04X", last.value) + #"""#
  }

  /// Every class of escape the isolation issue names, each a statement tenant A's query job runs.
  static func escapes(_ pair: Pair) -> [(name: String, sql: String)] {
    let b = pair.b.schema
    let fromText = "\(Self.escaped("query_to_xml"))('SELECT value FROM \(b).secret', true, true, '')"
    let setConfig = Self.escaped("set_config")
    return [
      ("an escaped schema and table", "SELECT value FROM \(Self.escaped(b)).\(Self.escaped("secret"))"),
      ("SQL passed as text to an XML function", "SELECT \(fromText)"),
      ("SQL passed as text to a text-search function", "SELECT * FROM \(Self.escaped("ts_stat"))('SELECT to_tsvector(value) FROM \(b).secret')"),
      ("the role reset, then SQL as text", "SELECT \(setConfig)('role', 'none', true), \(fromText)"),
      ("a switch to the loader's role", "SELECT \(setConfig)('role', 'postgres', true), \(fromText)"),
      ("a switch to the other tenant's role", "SELECT \(setConfig)('role', 'spectra_query_\(b)', true), \(fromText)"),
      ("a session authorization switch", "SELECT \(setConfig)('session_authorization', 'postgres', true), \(fromText)"),
      ("a server file read", "SELECT \(Self.escaped("pg_read_file"))('/etc/passwd')"),
      ("a binary server file read", "SELECT \(Self.escaped("pg_read_binary_file"))('/etc/hostname')"),
      ("a server directory listing", "SELECT * FROM \(Self.escaped("pg_ls_dir"))('.')"),
      ("a large object import", "SELECT \(Self.escaped("lo_import"))('/etc/passwd')"),
      (
        "dblink to the loader's login",
        "SELECT * FROM public.\(Self.escaped("dblink"))('host=127.0.0.1 port=\(pair.cluster.port) user=postgres dbname=postgres', "
          + "'SELECT value FROM \(b).secret') AS t(v text)"
      ),
      ("a statistics view of the other schema", "SELECT most_common_vals::text FROM pg_stats WHERE schemaname = '\(b)'"),
      ("the raw statistics catalog", "SELECT stavalues1::text FROM pg_statistic"),
    ]
  }

  @Test("every escape either fails with a reason or returns nothing of the other tenant's")
  func escapesFail() async throws {
    let pair = try await Pair.make()
    defer { pair.warehouse.shutdown() }
    try pair.cluster.psql("CREATE EXTENSION IF NOT EXISTS dblink SCHEMA public")
    // B's role exists, so that switching to it is a real target.
    #expect(try await pair.query("SELECT count(*) FROM secret", as: pair.b) == "50\n")
    #expect(try await pair.query("SELECT name FROM items") == "mine\n")

    var failures: [String] = []
    for (name, sql) in Self.escapes(pair) {
      do {
        let text = try await pair.query(sql)
        #expect(!text.contains(Self.secret) && !text.contains("root:"), "\(name) read: \(text.prefix(200))")
        #expect(name == "a statistics view of the other schema", "\(name) ran, returning \(text.prefix(200))")
      } catch let error as BulkError {
        failures.append("\(name): \(error.message)")
        #expect(!error.message.contains(Self.secret), "\(name) leaked through its error: \(error.message)")
      }
    }
    #expect(failures.count == Self.escapes(pair).count - 1, "\(failures)")
    #expect(failures.allSatisfy { $0.contains("permission denied") || $0.contains("password is required") }, "\(failures)")
  }

  @Test("names in the catalog are visible, rows of another schema never")
  func catalogNames() async throws {
    let pair = try await Pair.make()
    defer { pair.warehouse.shutdown() }
    let names = try await pair.query("SELECT relname FROM pg_class WHERE relnamespace = '\(pair.b.schema)'::regnamespace ORDER BY 1")
    #expect(names.contains("secret"))
    await #expect(throws: BulkError.self) { try await pair.query("SELECT count(*) FROM \(pair.b.schema).secret") }
  }

  @Test("a session advisory lock does not outlive its query, and a query holding one does not stall another tenant's load")
  func advisoryLocks() async throws {
    let pair = try await Pair.make()
    defer { pair.warehouse.shutdown() }
    let lockFunction = Self.escaped("pg_advisory_lock")
    #expect(try await pair.query("SELECT 'locked' FROM (SELECT \(lockFunction)(4711)) AS l") == "locked\n")
    #expect(try pair.cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4711") == "0\n")

    // A holds, in a running query, the lock a loader of B's chunk 0 of job-iso would have used
    // before loads claimed ledger rows instead.
    let key = "'\"\(pair.b.schema)\".\"_spectra_ledger\"/job-iso'"
    let cancellation = QueryCancellation()
    let holder = Task {
      try await pair.query(
        "SELECT 'locked' FROM (SELECT \(lockFunction)(hashtext(\(key)), 0)) AS l, pg_sleep(60)",
        cancellation: cancellation
      )
    }
    defer { holder.cancel() }
    var held = false
    for _ in 0 ..< 200 where !held {
      held = try pair.cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2") != "0\n"
      if !held { try await Task.sleep(for: .milliseconds(50)) }
    }
    #expect(held, "A's query never took its lock")

    let description = try #require(try await pair.warehouse.describe(table: "secret", tenant: pair.b))
    let work = ChunkWork(
      jobID: "job-iso",
      chunk: 0,
      operation: .insert,
      table: description,
      keyColumn: "",
      columns: ["id", "value"],
      records: [ChunkRecord(number: 1, values: [.integer(51), .text("new")])]
    )
    let started = ContinuousClock.now
    let outcomes = try await pair.warehouse.apply(work, tenant: pair.b)
    #expect(outcomes.count == 1)
    #expect(ContinuousClock.now - started < .seconds(20), "B's load waited for A's query")
    cancellation.cancel(.aborted)
    _ = try? await holder.value
    #expect(try pair.cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "0\n")
  }

  @Test("a query_role login from the tenants file is used with its password, and a wrong password is refused without showing it")
  func configuredRole() async throws {
    let probe = try await Pair.make()
    probe.warehouse.shutdown()
    let role = "reader_\(probe.a.schema)"
    try probe.cluster.psql(
      """
      CREATE ROLE \(role) LOGIN PASSWORD 'right-password';
      GRANT USAGE ON SCHEMA \(probe.a.schema) TO \(role); GRANT SELECT ON ALL TABLES IN SCHEMA \(probe.a.schema) TO \(role);
      """
    )
    let good = Pair(
      cluster: probe.cluster,
      a: Tenant(id: probe.a.id, schema: probe.a.schema, queryLogin: QueryLogin(.role(role), password: "right-password")),
      b: probe.b,
      warehouse: PostgresWarehouse(url: probe.cluster.url(), poolSize: 1, logger: Logger(label: "test"))
    )
    defer { good.warehouse.shutdown() }
    #expect(try await good.query("SELECT session_user, name FROM items") == "\(role),mine\n")
    await #expect(throws: BulkError.self) { try await good.query("SELECT value FROM \(good.b.schema).secret") }

    let url = "postgresql://\(role):right-password@127.0.0.1:\(probe.cluster.port)/postgres"
    let byURL = Tenant(id: probe.a.id, schema: probe.a.schema, queryLogin: QueryLogin(.url(url)))
    #expect(try await good.query("SELECT session_user FROM items", as: byURL) == "\(role)\n")

    let wrong = Tenant(id: probe.a.id, schema: probe.a.schema, queryLogin: QueryLogin(.role(role), password: "wrong-password"))
    await #expect {
      try await good.query("SELECT 1", as: wrong)
    } throws: { error in
      let message = (error as? BulkError)?.message ?? ""
      return message.contains("query_role \(role)") && message.contains("password authentication failed")
        && !message.contains("wrong-password")
    }
  }

  @Test(
    "a login that holds more than reading its schema is refused before any tenant SQL runs",
    arguments: ["superuser", "member", "creator"]
  )
  func unsafeLogins(kind: String) async throws {
    let pair = try await Pair.make()
    defer { pair.warehouse.shutdown() }
    let role = "unsafe_\(kind)_\(pair.a.schema)"
    let grants =
      switch kind {
      case "superuser": "CREATE ROLE \(role) LOGIN SUPERUSER PASSWORD 'pw';"
      case "member": "CREATE ROLE \(role) LOGIN PASSWORD 'pw'; GRANT pg_read_all_data TO \(role);"
      default: "CREATE ROLE \(role) LOGIN PASSWORD 'pw'; GRANT CREATE ON SCHEMA \(pair.a.schema) TO \(role);"
      }
    try pair.cluster.psql(grants + "GRANT USAGE ON SCHEMA \(pair.a.schema) TO \(role); GRANT SELECT ON \(pair.a.schema).items TO \(role);")
    let tenant = Tenant(id: pair.a.id, schema: pair.a.schema, queryLogin: QueryLogin(.role(role), password: "pw"))
    let expected = ["superuser": "SUPERUSER", "member": "member of pg_read_all_data", "creator": "CREATE on schema"][kind]!
    await #expect {
      try await pair.query("SELECT value FROM \(pair.b.schema).secret", as: tenant)
    } throws: { error in
      let message = (error as? BulkError)?.message ?? ""
      return message.contains("holds more than reading schema") && message.contains(expected)
    }
  }

  @Test("a provisioned role's password is kept 0600 in the data directory and survives a restart and another server")
  func provisionedPasswords() async throws {
    try await withTemporaryDirectory { directory in
      let probe = try await Pair.make()
      probe.warehouse.shutdown()
      let roles = "\(directory)/query-roles"
      func warehouse(_ folder: String) -> PostgresWarehouse {
        PostgresWarehouse(url: probe.cluster.url(), poolSize: 1, queryRoleDirectory: folder, logger: Logger(label: "test"))
      }
      let first = Pair(cluster: probe.cluster, a: probe.a, b: probe.b, warehouse: warehouse(roles))
      defer { first.warehouse.shutdown() }
      #expect(try await first.query("SELECT name FROM items") == "mine\n")
      let file = "\(roles)/spectra_query_\(probe.a.schema).password"
      let attributes = try FileManager.default.attributesOfItem(atPath: file)
      #expect(attributes[.posixPermissions] as? Int == 0o600)
      let password = try String(contentsOfFile: file, encoding: .utf8)
      #expect(password.count == 64)
      #expect(try probe.cluster.psql("SELECT rolcanlogin, rolsuper, rolinherit FROM pg_roles WHERE rolname = 'spectra_query_\(probe.a.schema)'") == "t|f|f\n")

      // A restart reads the file; another server with its own folder sets a new password, and the
      // first one, refused, takes the role back.
      let restarted = Pair(cluster: probe.cluster, a: probe.a, b: probe.b, warehouse: warehouse(roles))
      defer { restarted.warehouse.shutdown() }
      #expect(try await restarted.query("SELECT name FROM items") == "mine\n")
      #expect(try String(contentsOfFile: file, encoding: .utf8) == password)
      let other = Pair(cluster: probe.cluster, a: probe.a, b: probe.b, warehouse: warehouse("\(directory)/other"))
      defer { other.warehouse.shutdown() }
      #expect(try await other.query("SELECT name FROM items") == "mine\n")
      #expect(try await first.query("SELECT name FROM items") == "mine\n")
    }
  }

  @Test("a role of the provisioned name that the server did not make is never taken over")
  func foreignRole() async throws {
    let pair = try await Pair.make()
    defer { pair.warehouse.shutdown() }
    try pair.cluster.psql("CREATE ROLE spectra_query_\(pair.a.schema) LOGIN PASSWORD 'operator-password'")
    await #expect {
      try await pair.query("SELECT name FROM items")
    } throws: { error in
      (error as? BulkError)?.message.contains("was not made by spectra-bulk") == true
    }
  }
}
