import BulkCore
import BulkEngine
import BulkFormats
import BulkPostgres
import BulkSQLite
import BulkTestSupport
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

/// Query jobs end to end through the engine, on the embedded SQLite warehouse and on a real
/// PostgreSQL: results against the same query run directly, refused statements, timeouts, paging.
@Suite("Query jobs")
struct QueryJobTests {
  enum Kind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self.rawValue }
  }

  /// A harness on one warehouse, with a table `items` of awkward values, and a way to run SQL on
  /// that warehouse directly.
  struct Fixture {
    let harness: EngineHarness
    let kind: Kind
    /// Runs SQL directly, returning rows of text (`nil` for NULL).
    let direct: (String) throws -> [[String?]]
    /// Runs statements directly.
    let execute: (String) throws -> Void
  }

  static let awkward: [(id: Int, name: String?, note: String?)] = [
    (1, "Ada", "plain"),
    (2, "Quote \"here\"", "comma, inside"),
    (3, "line\nbreak", "tab\there"),
    (4, nil, ""),
    (5, "Zoë 東京 🚀", "back\\slash"),
    (6, " padded ", nil),
  ]

  static func settings(timeout: Duration = .seconds(60)) -> EngineSettings {
    var settings = EngineSettings(workers: 2)
    settings.queryTimeout = timeout
    settings.queryDeadlineGrace = .seconds(2)
    settings.chunkBytes = 64 << 10
    return settings
  }

  /// Runs `body` with a fixture on `kind`, its `items` table filled with `awkward`.
  static func withFixture(
    _ kind: Kind,
    settings: EngineSettings = Self.settings(),
    poolSize: Int = 3,
    _ body: (Fixture) async throws -> Void
  ) async throws {
    try await withTemporaryDirectory { directory in
      switch kind {
      case .sqlite:
        let harness = try EngineHarness(directory: directory, settings: settings)
        let fixture = Fixture(
          harness: harness,
          kind: kind,
          direct: { sql in try harness.rows(sql).map { $0.map { $0 == "NULL" ? nil : $0 } } },
          execute: { try harness.sql($0) }
        )
        try harness.sql(
          "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, note TEXT, amount REAL, flag BOOLEAN, created TIMESTAMP);"
        )
        try Self.fill(fixture)
        try await body(fixture)
      case .postgres:
        let postgres = try await PostgresTenant.make(
          """
          CREATE TABLE items (
            id bigint PRIMARY KEY, name text, note text, amount numeric(12,2), flag boolean, created timestamptz
          );
          """,
          poolSize: poolSize
        )
        defer { postgres.warehouse.shutdown() }
        let connection = try PostgresConnection(url: postgres.cluster.url())
        try connection.execute("SET search_path TO \(postgres.tenant.schema)")
        let fixture = Fixture(
          harness: try postgres.harness(directory: directory, settings: settings),
          kind: kind,
          direct: { try connection.query($0) },
          execute: { sql in
            for statement in sql.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
              try connection.execute(String(statement))
            }
          }
        )
        try Self.fill(fixture)
        try await body(fixture)
      }
    }
  }

  private static func fill(_ fixture: Fixture) throws {
    func literal(_ text: String?) -> String {
      text.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL"
    }
    let values = Self.awkward.map { row in
      let flag = row.id % 2 == 0 ? "true" : "false"
      let created = fixture.kind == .sqlite ? "'2024-03-0\(row.id)T10:20:30Z'" : "'2024-03-0\(row.id) 10:20:30+00'"
      return "(\(row.id), \(literal(row.name)), \(literal(row.note)), \(row.id).25, \(flag), \(created))"
    }
    try fixture.execute("INSERT INTO items (id, name, note, amount, flag, created) VALUES " + values.joined(separator: ", "))
  }

  /// Runs a query job to its end.
  static func run(_ fixture: Fixture, _ sql: String, contentType: ContentType = .csv) async throws -> Job {
    let job = try await fixture.harness.service.createJob(
      JobSpec(operation: .query, object: "items", contentType: contentType, query: sql),
      requestID: "",
      tenant: fixture.harness.tenant
    )
    _ = try await fixture.harness.service.updateState(id: job.id, to: .uploadComplete, tenant: fixture.harness.tenant)
    return try await fixture.harness.finished(job)
  }

  /// The records of a CSV document: its header, then its rows.
  static func csv(_ text: String) throws -> (header: [String], rows: [[String]]) {
    var reader = CSVRecordReader(delimiter: UInt8(ascii: ","))
    var rows: [[String]] = []
    try reader.feed(ByteBuffer(string: text)) { rows.append($0.fields) }
    try reader.finish { rows.append($0.fields) }
    return (reader.header ?? [], rows)
  }

  @Test("CSV, JSON and typed results equal the same query run directly", arguments: Kind.allCases)
  func roundTrip(kind: Kind) async throws {
    try await Self.withFixture(kind) { fixture in
      let sql = "SELECT id, name, note FROM items ORDER BY id"
      let expected = try fixture.direct(sql)

      let csvJob = try await Self.run(fixture, sql)
      #expect(csvJob.state == .jobComplete, "\(csvJob.errorMessage)")
      #expect(csvJob.numberRecordsProcessed == Int64(Self.awkward.count))
      #expect(csvJob.numberRecordsFailed == 0)
      #expect(csvJob.progressPercentage == 100)
      let csv = try Self.csv(try await fixture.harness.results(csvJob, nil).text)
      #expect(csv.header == ["id", "name", "note"])
      #expect(csv.rows == expected.map { $0.map { $0 ?? "" } })

      let jsonJob = try await Self.run(fixture, sql, contentType: .json)
      #expect(jsonJob.state == .jobComplete, "\(jsonJob.errorMessage)")
      let json = try await fixture.harness.results(jsonJob, .query).text
      let objects = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
      #expect(objects.count == expected.count)
      for (object, row) in zip(objects, expected) {
        #expect((object["id"] as? NSNumber)?.stringValue == row[0])
        #expect(object["name"] as? String == row[1])
        #expect(object["note"] as? String == row[2])
        #expect((row[1] == nil) == (object["name"] is NSNull))
      }

      let typedJob = try await Self.run(
        fixture,
        "SELECT id, name, amount, flag, created FROM items ORDER BY id",
        contentType: .recordBatch
      )
      #expect(typedJob.state == .jobComplete, "\(typedJob.errorMessage)")
      let rows = Mutex<[[FieldValue]]>([])
      let columns = Mutex<[String]>([])
      _ = try await fixture.harness.service.results(
        id: typedJob.id,
        tenant: fixture.harness.tenant,
        set: nil,
        locator: "",
        maxRecords: 0
      ) { piece in
        rows.withLock { $0 += piece.rows }
        columns.withLock { if $0.isEmpty { $0 = piece.columns } }
      }
      #expect(columns.withLock { $0 } == ["id", "name", "amount", "flag", "created"])
      let typed = rows.withLock { $0 }
      #expect(typed.count == Self.awkward.count)
      let first = try #require(typed.first)
      #expect(first[0] == .integer(1))
      #expect(first[1] == .text("Ada"))
      #expect(first[2] == (kind == .sqlite ? .double(1.25) : .number("1.25")))
      #expect(first[3] == .bool(false))
      #expect(first[4] == .timestamp(Date(timeIntervalSince1970: 1_709_288_430)))
      #expect(typed[3][1] == .null)
    }
  }

  @Test("an empty result is a header alone, or an empty JSON array", arguments: Kind.allCases)
  func empty(kind: Kind) async throws {
    try await Self.withFixture(kind) { fixture in
      let csvJob = try await Self.run(fixture, "SELECT id, name FROM items WHERE id < 0")
      #expect(csvJob.state == .jobComplete)
      #expect(csvJob.numberRecordsProcessed == 0)
      let csv = try await fixture.harness.results(csvJob, nil)
      #expect(csv.text == "id,name\n")
      #expect(csv.next == "")
      let jsonJob = try await Self.run(fixture, "SELECT id FROM items WHERE id < 0", contentType: .json)
      #expect(try await fixture.harness.results(jsonJob, nil).text == "[]")
    }
  }

  static let refusedEverywhere: [(sql: String, reason: String)] = [
    ("INSERT INTO items (id) VALUES (100)", "not INSERT"),
    ("DELETE FROM items", "not DELETE"),
    ("UPDATE items SET name = 'x'", "not UPDATE"),
    ("CREATE TABLE stolen (a int)", "not CREATE"),
    ("SELECT 1; DELETE FROM items", "single statement"),
    ("SELECT 1 /* ; */ ; DROP TABLE items", "single statement"),
    ("SELECT * FROM no_such_table", "no_such_table"),
  ]

  static let refusedOnPostgres: [(sql: String, reason: String)] = [
    ("COPY items FROM '/tmp/items.csv'", "not COPY"),
    ("WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d", "only read"),
    ("SET search_path = public", "not SET"),
    ("SELECT set_config('search_path', 'public', false)", "set_config()"),
    ("SELECT pg_catalog.set_config('role', 'none', true), 1", "set_config()"),
    ("SELECT query_to_xml('select 1', true, true, '')", "query_to_xml()"),
    ("SELECT pg_advisory_lock(42)", "pg_advisory_lock()"),
    ("SELECT * FROM other_tenant.secrets", "only the tenant's own tables"),
    ("SELECT nextval('items_seq')", "items_seq"),
  ]

  static let refusedOnSQLite: [(sql: String, reason: String)] = [
    ("ATTACH DATABASE '/tmp/other.sqlite' AS other", "not ATTACH"),
    ("WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d", "DELETE"),
    ("PRAGMA writable_schema = 1", "not PRAGMA"),
    ("SELECT load_extension('/tmp/evil')", "load_extension()"),
    ("SELECT * FROM temp.sqlite_master", "only the tenant's own tables"),
  ]

  @Test("writes, second statements, session tricks and other tenants' tables fail the job and change nothing", arguments: Kind.allCases)
  func refused(kind: Kind) async throws {
    try await Self.withFixture(kind) { fixture in
      if kind == .postgres {
        try fixture.execute(
          "CREATE SCHEMA IF NOT EXISTS other_tenant; CREATE TABLE IF NOT EXISTS other_tenant.secrets (s text); CREATE SEQUENCE items_seq"
        )
      }
      let before = try fixture.direct("SELECT count(*), sum(id) FROM items")
      let cases = Self.refusedEverywhere + (kind == .postgres ? Self.refusedOnPostgres : Self.refusedOnSQLite)
      for (sql, reason) in cases {
        let job = try await Self.run(fixture, sql)
        #expect(job.state == .failed, "\(sql) was not refused")
        #expect(job.errorMessage.contains(reason), "\(sql): \(job.errorMessage)")
      }
      #expect(try fixture.direct("SELECT count(*), sum(id) FROM items") == before)
      if kind == .postgres {
        #expect(try fixture.direct("SELECT nextval('items_seq')") == [["1"]])
        #expect(try fixture.direct("SELECT count(*) FROM pg_tables WHERE tablename = 'stolen'") == [["0"]])
      }
    }
  }

  @Test("a query past its timeout fails and leaves no statement running", arguments: Kind.allCases)
  func timeout(kind: Kind) async throws {
    try await Self.withFixture(kind, settings: Self.settings(timeout: .milliseconds(500))) { fixture in
      let sql =
        kind == .postgres
        ? "SELECT pg_sleep(30)"
        : "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
      let started = ContinuousClock.now
      let job = try await Self.run(fixture, sql)
      #expect(job.state == .failed)
      #expect(job.errorMessage.contains("timeout"), "\(job.errorMessage)")
      #expect(ContinuousClock.now - started < .seconds(25), "the statement (30 s, or endless) was not cut short")
      if kind == .postgres {
        let running = try fixture.direct(
          "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
        )
        #expect(running == [["0"]])
      }
    }
  }

  @Test("aborting a running query cancels its statement", arguments: Kind.allCases)
  func abort(kind: Kind) async throws {
    try await Self.withFixture(kind) { fixture in
      let sql =
        kind == .postgres
        ? "SELECT pg_sleep(31)"
        : "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
      let tenant = fixture.harness.tenant
      let job = try await fixture.harness.service.createJob(
        JobSpec(operation: .query, object: "items", query: sql),
        requestID: "",
        tenant: tenant
      )
      _ = try await fixture.harness.service.updateState(id: job.id, to: .uploadComplete, tenant: tenant)
      try await fixture.harness.service.watch(id: job.id, tenant: tenant).run { changes in
        for await change in changes where change.state == .inProgress {
          break
        }
      }
      let started = ContinuousClock.now
      _ = try await fixture.harness.service.updateState(id: job.id, to: .aborted, tenant: tenant)
      await fixture.harness.engine.waitUntilIdle(jobID: job.id)
      #expect(ContinuousClock.now - started < .seconds(25), "the statement (30 s, or endless) was not cut short")
      #expect(try await fixture.harness.service.job(id: job.id, tenant: tenant).state == .aborted)
      if kind == .postgres {
        let running = try fixture.direct(
          "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(31)%' AND pid <> pg_backend_pid()"
        )
        #expect(running == [["0"]])
      }
    }
  }

  @Test("on a pool of one connection, nothing of a query's session reaches the loader: queries log in as the tenant's role")
  func noLeakOnPostgres() async throws {
    try await Self.withFixture(.postgres, settings: Self.settings(timeout: .milliseconds(500)), poolSize: 1) { fixture in
      #expect(try await Self.run(fixture, "SELECT id FROM items").state == .jobComplete)
      #expect(try await Self.run(fixture, "WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d").state == .failed)
      #expect(try await Self.run(fixture, "SELECT pg_sleep(29)").state == .failed)
      let insert = try await fixture.harness.run(
        JobSpec(operation: .insert, object: "items"),
        csv: "id,name\n100,after the queries\n"
      )
      #expect(insert.state == .jobComplete, "\(insert.errorMessage)")
      #expect(insert.numberRecordsFailed == 0)
      let after = try await Self.run(fixture, "SELECT session_user AS login, name FROM items WHERE id = 100")
      #expect(after.state == .jobComplete, "\(after.errorMessage)")
      let role = "spectra_query_\(fixture.harness.tenant.schema)"
      #expect(try await fixture.harness.results(after, nil).text == "login,name\n\(role),after the queries\n")
    }
  }

  @Test("a query job left InProgress by a crash runs again after a restart, and nothing of the first run is served")
  func resumeAfterCrash() async throws {
    try await Self.withFixture(.sqlite) { fixture in
      let harness = fixture.harness
      let created = try await harness.service.createJob(
        JobSpec(operation: .query, object: "items", query: "SELECT id, note FROM items ORDER BY id"),
        requestID: "",
        tenant: harness.tenant
      )
      // What a process killed in the middle of the export leaves: the job InProgress, a chunk of
      // an earlier run's rows on disk.
      let job = try await harness.catalog.update(id: created.id, tenantID: harness.tenant.id) { (job: inout Job) throws(BulkError) in
        job.state = .inProgress
      }
      let folder = "\(harness.directory)/results/\(job.id)"
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      try Data("[\"stale\"]".utf8).write(to: URL(fileURLWithPath: "\(folder)/columns.json"))
      for chunk in 0 ... 1 {
        try Data("SBR1 stale rows\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/\(chunk).results"))
      }

      let engine = Task { try await harness.engine.run() }
      defer { engine.cancel() }
      let finished = try await harness.finished(job)
      #expect(finished.state == .jobComplete, "\(finished.errorMessage)")
      #expect(finished.numberRecordsProcessed == Int64(Self.awkward.count))
      let csv = try Self.csv(try await harness.results(finished, nil).text)
      #expect(csv.header == ["id", "note"])
      #expect(csv.rows == Self.awkward.map { [String($0.id), $0.note ?? ""] })
      #expect(!FileManager.default.fileExists(atPath: "\(folder)/1.results"), "the earlier run's chunks are removed")
    }
  }

  @Test("paging through 100,000 rows in pages of 7,777 gives every row once", arguments: Kind.allCases)
  func paging(kind: Kind) async throws {
    try await Self.withFixture(kind) { fixture in
      try fixture.execute(
        kind == .postgres
          ? "CREATE TABLE numbers AS SELECT g AS n, md5(g::text) AS label FROM generate_series(1, 100000) g"
          : """
          CREATE TABLE numbers AS WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000)
          SELECT n, hex(randomblob(8)) AS label FROM g
          """
      )
      let job = try await Self.run(fixture, "SELECT n, label FROM numbers ORDER BY n")
      #expect(job.state == .jobComplete, "\(job.errorMessage)")
      #expect(job.numberRecordsProcessed == 100_000)
      #expect(job.numberChunks > 1)
      var seen: [Int] = []
      var locator = ""
      var pages = 0
      repeat {
        let page = try await fixture.harness.results(job, .query, locator: locator, maxRecords: 7_777)
        let parsed = try Self.csv(page.text)
        #expect(parsed.header == ["n", "label"])
        #expect(Int64(parsed.rows.count) == page.records)
        seen += parsed.rows.compactMap { Int($0[0]) }
        locator = page.next
        pages += 1
      } while !locator.isEmpty
      #expect(pages == 13)
      #expect(seen == Array(1 ... 100_000))
    }
  }

  @Test(
    "a query job without a query reads a large table on two connections and gives every row once",
    arguments: [ContentType.csv, .json]
  )
  func wholeTable(contentType: ContentType) async throws {
    let postgres = try await PostgresTenant.make(
      "CREATE TABLE numbers AS SELECT g AS n, md5(g::text) AS label FROM generate_series(1, 50000) g",
      wholeTableRangeBytes: 256 << 10
    )
    defer { postgres.warehouse.shutdown() }
    try await withTemporaryDirectory { directory in
      let harness = try postgres.harness(directory: directory, settings: Self.settings()) { RecordingWarehouse($0) }
      let recording = try #require(harness.engineWarehouse as? RecordingWarehouse)
      for query in ["", "SELECT * FROM numbers"] {
        let job = try await harness.service.createJob(
          JobSpec(operation: .query, object: "numbers", contentType: contentType, query: query),
          requestID: "",
          tenant: harness.tenant
        )
        _ = try await harness.service.updateState(id: job.id, to: .uploadComplete, tenant: harness.tenant)
        let done = try await harness.finished(job)
        #expect(done.state == .jobComplete, "\(done.errorMessage)")
        #expect(done.numberRecordsProcessed == 50_000)
        let text = try await harness.results(done, .query, locator: "", maxRecords: 0).text
        let numbers =
          contentType == .csv
          ? try Self.csv(text).rows.compactMap { Int($0[0]) }
          : ((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []).compactMap { $0["n"] as? Int }
        #expect(numbers.sorted() == Array(1 ... 50_000), "query \(query)")
      }
      let wholeTables = recording.wholeTables.withLock { $0 }
      #expect(wholeTables == ["numbers", nil])
    }
  }
}
