import BulkCore
import BulkEngine
import BulkSQLite
import BulkTestSupport
import Foundation
import Testing

/// Query jobs on the embedded SQLite warehouse against the classes of escape tried on
/// PostgreSQL, each through the real query-job path: two tenants, each with its own file, and a
/// secret row in the other tenant's. Every attempt fails with a reason or returns nothing of the
/// other tenant's.
@Suite("SQLite query sandbox")
struct SQLiteSandboxTests {
  static let secret = "rival-secret-7f3a"

  /// A harness for tenant `acme` (table `items`, and `big` with a 30 MB value) beside tenant `rival`, whose file holds
  /// `secrets` and an `items` of its own, both with the secret.
  static func withTenants(
    timeout: Duration = .seconds(60),
    _ body: (EngineHarness, _ rivalPath: String) async throws -> Void
  ) async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: QueryJobTests.settings(timeout: timeout))
      try harness.sql(
        """
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (1, 'own');
        CREATE TABLE big AS SELECT zeroblob(30000000) AS b;
        """
      )
      let rivalPath = harness.warehouse.path(of: Tenant(id: "rival"))
      try SQLiteConnection(path: rivalPath).execute(
        """
        CREATE TABLE secrets (s TEXT); INSERT INTO secrets VALUES ('\(Self.secret)');
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items VALUES (2, '\(Self.secret)');
        """
      )
      try await body(harness, rivalPath)
    }
  }

  /// Runs a query job of `acme` to its end; returns it and its rows as CSV text.
  static func run(_ harness: EngineHarness, _ sql: String) async throws -> (job: Job, text: String) {
    let job = try await harness.service.createJob(
      JobSpec(operation: .query, object: "items", contentType: .csv, query: sql),
      requestID: "",
      tenant: harness.tenant
    )
    _ = try await harness.service.updateState(id: job.id, to: .uploadComplete, tenant: harness.tenant)
    let finished = try await harness.finished(job)
    let text = finished.state == .jobComplete ? try await harness.results(finished, nil).text : ""
    return (finished, text)
  }

  /// What an attempt meets.
  enum Outcome {
    /// The job fails with a reason containing this.
    case fails(String)
    /// The job completes with the tenant's own rows (or a text saying `own`).
    case readsOwnRows
  }

  /// Each attempt and what it meets; none returns anything of the other tenant's.
  static let attempts: [(sql: String, outcome: Outcome)] = [
    // Escaped and quoted identifiers name the tenant's own tables only.
    ("SELECT * FROM \"main\".\"items\"", .readsOwnRows),
    ("SELECT * FROM [items] UNION ALL SELECT * FROM `main`.`items`", .readsOwnRows),
    ("SELECT * FROM \"secrets\"", .fails("no such table: secrets")),
    ("SELECT * FROM [rival].[secrets]", .fails("no such table: rival.secrets")),
    ("SELECT * FROM \"temp\".\"sqlite_master\"", .fails("only the tenant's own tables")),
    // SQLite has no function that runs SQL text; the shell's and extensions' are not there.
    ("SELECT eval('SELECT s FROM secrets')", .fails("no such function: eval")),
    ("SELECT readfile('RIVAL')", .fails("readfile()")),
    // fts3_tokenizer with two arguments installs a C pointer; with one it discloses one.
    ("SELECT hex(fts3_tokenizer('simple'))", .fails("fts3_tokenizer()")),
    ("SELECT \"fts3_tokenizer\"('simple', x'0000000000000000')", .fails("fts3_tokenizer()")),
    // ATTACH by path and by URI, and VACUUM INTO, which attaches its target.
    ("ATTACH DATABASE 'RIVAL' AS rival", .fails("not ATTACH")),
    ("ATTACH 'file:RIVAL?mode=ro' AS rival", .fails("not ATTACH")),
    ("VACUUM INTO 'RIVAL.copy'", .fails("not VACUUM")),
    ("SELECT * FROM rival.secrets", .fails("no such table: rival.secrets")),
    // Extensions.
    ("SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')", .fails("load_extension()")),
    ("SELECT \"LOAD_EXTENSION\"('x')", .fails("load_extension()")),
    // Table-valued pragma functions: the file list names paths, others describe the server.
    ("SELECT * FROM pragma_database_list", .fails("table-valued function")),
    ("SELECT file FROM main.pragma_database_list", .fails("table-valued function")),
    ("SELECT * FROM temp.pragma_database_list", .fails("table-valued function")),
    ("SELECT * FROM pragma_table_info('secrets')", .fails("table-valued function")),
    ("SELECT * FROM \"pragma_function_list\"", .fails("table-valued function")),
    ("SELECT * FROM dbstat", .fails("table-valued function")),
    ("PRAGMA database_list", .fails("not PRAGMA")),
    // The JSON ones stay usable.
    (
      "SELECT items.name FROM items, json_each('[1]') UNION ALL SELECT value FROM json_tree('[\"own\"]')",
      .readsOwnRows
    ),
    // Sizes: one value is bounded, so no statement makes the server allocate gigabytes.
    ("SELECT length(randomblob(2000000000))", .fails("larger than the 67108864 bytes")),
    ("SELECT length(randomblob(500000000))", .fails("larger than the 67108864 bytes")),
    ("SELECT length(zeroblob(2000000000))", .fails("larger than the 67108864 bytes")),
    ("SELECT length(hex(zeroblob(300000000)))", .fails("larger than the 67108864 bytes")),
    // printf stops at the bound without an error: its text is cut short.
    ("SELECT CASE WHEN length(printf('%.*c', 500000000, 'x')) <= 67108864 THEN 'own' END", .readsOwnRows),
    (
      "WITH RECURSIVE c(x) AS (SELECT 'ab' UNION ALL SELECT x || x FROM c) SELECT length(x) FROM c",
      .fails("larger than the 67108864 bytes")
    ),
    // Many values under the bound in one row: SQLite holds them all at once (8 x 60 MB took
    // 940 MB, 40 took 2.4 GB), so the query's SQLite memory has a bound of its own.
    (Self.wideRow(columns: 8, bytes: 60_000_000), .fails("256 MiB) of memory one query may")),
    (Self.wideRow(columns: 3, bytes: 30_000_000), .readsOwnRows),
    // A large stored value still reads back whole.
    ("SELECT CASE WHEN length(hex(b)) = 60000000 THEN 'own' END FROM big", .readsOwnRows),
  ]

  /// A row of `columns` random blobs of `bytes` each; its text is `own` when it was made.
  static func wideRow(columns: Int, bytes: Int) -> String {
    let blobs = (1 ... columns).map { "randomblob(\(bytes)) AS c\($0)" }.joined(separator: ", ")
    let total = (1 ... columns).map { "length(c\($0))" }.joined(separator: " + ")
    return "SELECT CASE WHEN \(total) = \(columns * bytes) THEN 'own' END FROM (SELECT \(blobs))"
  }

  @Test("each escape fails with a reason or returns nothing of the other tenant's")
  func escapes() async throws {
    try await Self.withTenants { harness, rivalPath in
      for (template, outcome) in Self.attempts {
        let sql = template.replacingOccurrences(of: "RIVAL", with: rivalPath)
        let (job, text) = try await Self.run(harness, sql)
        #expect(!text.contains(Self.secret), "\(sql) read the other tenant's row")
        #expect(!job.errorMessage.contains(Self.secret), "\(sql): \(job.errorMessage)")
        switch outcome {
        case .fails(let reason):
          #expect(job.state == .failed, "\(sql) was not refused")
          #expect(job.errorMessage.contains(reason), "\(sql): \(job.errorMessage)")
        case .readsOwnRows:
          #expect(job.state == .jobComplete, "\(sql): \(job.errorMessage)")
          #expect(text.contains("own"), "\(sql): \(text)")
        }
      }
      #expect(!FileManager.default.fileExists(atPath: rivalPath + ".copy"))
      let rows = try SQLiteConnection(path: rivalPath).prepare("SELECT count(*) FROM secrets")
      _ = try rows.step()
      #expect(rows.int64(0) == 1)
    }
  }

  @Test("a recursive query that never ends stops at the deadline")
  func endless() async throws {
    try await Self.withTenants(timeout: .milliseconds(500)) { harness, _ in
      let started = ContinuousClock.now
      let (job, _) = try await Self.run(
        harness,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
      )
      #expect(job.state == .failed)
      #expect(job.errorMessage.contains("timeout"), "\(job.errorMessage)")
      #expect(ContinuousClock.now - started < .seconds(25))
    }
  }
}
