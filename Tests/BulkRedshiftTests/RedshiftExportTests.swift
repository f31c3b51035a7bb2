import BulkCore
import BulkPostgres
import BulkRedshift
import BulkS3
import BulkTestSupport
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

/// Query jobs on Redshift end to end: the statement inside `UNLOAD` on the tenant's own login
/// (run by `SimulatedRedshift` on the test PostgreSQL), the parts and manifest in moto, and the
/// rows streamed back from S3, compared with what PostgreSQL itself gives for the same statement.
@Suite("Redshift exports through UNLOAD")
struct RedshiftExportTests {
  /// Text with quotes, delimiters, line ends, a tab, backslashes and `\N`; NULL beside the
  /// empty string; numbers, timestamps and booleans.
  static let setup = """
    CREATE TABLE items (id int PRIMARY KEY, name text, note text, amount numeric(10,2), at timestamp, flag boolean);
    INSERT INTO items VALUES
      (1, 'plain', NULL, 1.50, '2024-01-02 03:04:05', true),
      (2, 'quote "double" and ''single''', '', -2.25, '2024-02-29 23:59:59.5', false),
      (3, 'comma, and; semicolon', E'line1\\nline2\\r\\n', 0, NULL, NULL),
      (4, 'back\\slash \\N', E'tab\\there', 123456.78, '1999-12-31 00:00:00', true),
      (5, '', 'x', NULL, '2024-01-01 00:00:00', false),
      (6, 'ünïcödé ✓', NULL, 3.00, '2024-06-01 12:00:00', true);
    CREATE TABLE many AS SELECT n AS id, repeat('x', 50) || n AS payload FROM generate_series(1, 2500) AS n;
    """

  /// Collects what a query job hands over.
  final class Collector: QueryRowSink {
    private struct State {
      var columns: [QueryColumn] = []
      var csv: [UInt8] = []
      var lines = 0
      var values: [[FieldValue]] = []
      var batches = 0
    }

    private let state = Mutex(State())

    var columns: [QueryColumn] { self.state.withLock { $0.columns } }
    var csv: [UInt8] { self.state.withLock { $0.csv } }
    var lines: Int { self.state.withLock { $0.lines } }
    var values: [[FieldValue]] { self.state.withLock { $0.values } }
    var batches: Int { self.state.withLock { $0.batches } }

    func columns(_ columns: [QueryColumn]) throws {
      self.state.withLock { $0.columns = columns }
    }

    func rows(_ batch: QueryRows) throws {
      self.state.withLock { state in
        state.batches += 1
        switch batch {
        case .csv(let bytes, let starts):
          state.csv += bytes
          state.lines += starts.count
        case .values(let rows):
          state.values += rows
        }
      }
    }
  }

  static func request(
    _ sql: String,
    output: QueryOutput = .csv(delimiter: UInt8(ascii: ",")),
    jobID: String = "job-\(UUID().uuidString.prefix(8))",
    timeout: Duration = .seconds(60),
    cancellation: QueryCancellation = QueryCancellation()
  ) -> QueryRequest {
    QueryRequest(jobID: jobID, sql: sql, output: output, timeout: timeout, cancellation: cancellation)
  }

  /// Runs `body` on a fixture made with `setup`, and shuts it down whatever happens.
  static func withFixture(_ body: (RedshiftFixture) async throws -> Void) async throws {
    let fixture = try await RedshiftFixture.make(Self.setup)
    do {
      try await body(fixture)
    } catch {
      try await fixture.shutdown()
      throw error
    }
    try await fixture.shutdown()
  }

  /// What PostgreSQL's own `COPY … TO STDOUT` writes for `sql` in the fixture's schema.
  static func postgresCopy(
    _ fixture: RedshiftFixture,
    _ sql: String,
    options: String = "FORMAT csv"
  ) async throws -> [UInt8] {
    let schema = fixture.schema.name
    return try await fixture.base.withLoaderConnection { connection in
      try connection.execute("SET search_path TO \(schema)")
      var bytes: [UInt8] = []
      try connection.copyOut("COPY (\(sql)) TO STDOUT WITH (\(options))") { bytes += $0 }
      try connection.execute("RESET search_path")
      return bytes
    }
  }

  /// Runs `sql` as a PostgreSQL query job of the same tenant: its CSV text, or its error.
  static func postgresJob(
    _ fixture: RedshiftFixture,
    _ sql: String,
    output: QueryOutput
  ) async -> Result<Collector, BulkError> {
    let warehouse = fixture.schema.warehouse(poolSize: 1)
    defer { warehouse.shutdown() }
    let collector = Collector()
    do {
      _ = try await warehouse.export(Self.request(sql, output: output), tenant: fixture.tenant, into: collector)
      return .success(collector)
    } catch let error as BulkError {
      return .failure(error)
    } catch {
      return .failure(BulkError(code: .internal, message: "\(error)"))
    }
  }

  @Test("a query job's CSV is PostgreSQL's own, byte for byte, in columns and rows", arguments: [",", ";", "\t", "|"])
  func csvExport(delimiter: String) async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let sql = "SELECT * FROM items ORDER BY id"
      let byte = delimiter.utf8.first!
      let collector = Collector()
      let rows = try await fixture.warehouse.export(
        Self.request(sql, output: .csv(delimiter: byte)),
        tenant: fixture.tenant,
        into: collector
      )
      #expect(rows == 6)
      #expect(collector.lines == 6)
      #expect(collector.columns.map(\.name) == ["id", "name", "note", "amount", "at", "flag"])
      #expect(collector.columns.map(\.type) == [.integer, .text, .text, .decimal, .timestamp, .boolean])
      let delimiterLiteral = delimiter == "\t" ? "E'\\t'" : "'\(delimiter)'"
      let expected = try await Self.postgresCopy(fixture, sql, options: "FORMAT csv, DELIMITER \(delimiterLiteral)")
      #expect(String(decoding: collector.csv, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }
  }

  @Test(
    "typed values are those of a PostgreSQL query job: NULL apart from the empty string, numbers, timestamps, booleans"
  )
  func valuesExport() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let sql = "SELECT * FROM items ORDER BY id"
      let collector = Collector()
      let rows = try await fixture.warehouse.export(
        Self.request(sql, output: .values),
        tenant: fixture.tenant,
        into: collector
      )
      #expect(rows == 6)
      let values = collector.values
      try #require(values.count == 6)
      #expect(values[0][2] == .null)
      #expect(values[1][2] == .text(""))
      #expect(values[4][1] == .text(""))
      #expect(values[4][3] == .null)
      #expect(values[2][2] == .text("line1\nline2\r\n"))
      #expect(values[3][1] == .text("back\\slash \\N"))
      #expect(values[1][1] == .text("quote \"double\" and 'single'"))
      #expect(values[0][0] == .integer(1))
      #expect(values[0][3] == .number("1.50"))
      #expect(values[0][5] == .bool(true))
      #expect(values[2][4] == .null)
      let postgres = try await Self.postgresJob(fixture, sql, output: .values).get()
      #expect(values == postgres.values)
    }
  }

  @Test("a single column keeps its NULL rows, which are empty lines in CSV")
  func singleColumn() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let sql = "SELECT note FROM items ORDER BY id"
      let values = Collector()
      #expect(
        try await fixture.warehouse.export(Self.request(sql, output: .values), tenant: fixture.tenant, into: values)
          == 6
      )
      #expect(
        values.values == [
          [.null], [.text("")], [.text("line1\nline2\r\n")], [.text("tab\there")], [.text("x")], [.null],
        ]
      )
      let csv = Collector()
      #expect(try await fixture.warehouse.export(Self.request(sql), tenant: fixture.tenant, into: csv) == 6)
      #expect(csv.csv == (try await Self.postgresCopy(fixture, sql)))
    }
  }

  /// Statements whose quotes and backslashes would end `UNLOAD`'s literal if they were not
  /// doubled, letting the rest name another destination or run another statement.
  static let hostile = [
    "SELECT 'a'') TO ''s3://evil/'' --' AS x",
    #"SELECT 'c:\' AS x, 'd:\''' AS y"#,
    #"SELECT E'it\'s' AS x, E'\\' AS y"#,
    #"SELECT $$it's a \' trap')$$ AS x"#,
    "SELECT '''; DROP TABLE items; --' AS x",
    "SELECT 1 AS x -- a comment ') TO 's3://evil/'\n",
    "SELECT 1 AS x'; DROP TABLE items; --",
    "SELECT 1; DROP TABLE items",
    "DELETE FROM items",
  ]

  @Test(
    "hostile statements come back exactly as a PostgreSQL query job returns or refuses them",
    arguments: Self.hostile
  )
  func hostileStatements(sql: String) async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let expected = await Self.postgresJob(fixture, sql, output: .csv(delimiter: UInt8(ascii: ",")))
      let collector = Collector()
      do {
        _ = try await fixture.warehouse.export(Self.request(sql), tenant: fixture.tenant, into: collector)
        let postgres = try expected.get()
        #expect(String(decoding: collector.csv, as: UTF8.self) == String(decoding: postgres.csv, as: UTF8.self))
      } catch let error as BulkError {
        guard case .failure(let refusal) = expected else {
          Issue.record("Redshift refused what PostgreSQL ran: \(error.message)")
          return
        }
        #expect(error == refusal)
      }
      #expect(try fixture.schema.psql("SELECT count(*) FROM items") == "6\n")
      #expect(try await fixture.keys().allSatisfy { $0.hasPrefix("staged/") })
    }
  }

  @Test("the first hostile statement's text is its value, with the quotes it was written with")
  func hostileValue() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let collector = Collector()
      _ = try await fixture.warehouse.export(Self.request(Self.hostile[0]), tenant: fixture.tenant, into: collector)
      #expect(String(decoding: collector.csv, as: UTF8.self) == "a') TO 's3://evil/' --\n")
    }
  }

  @Test("a query of another schema is refused by the tenant's role")
  func otherSchema() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let other = fixture.schema.name + "_other"
      try fixture.schema.cluster.psql(
        "CREATE SCHEMA \(other); CREATE TABLE \(other).secret (v text); INSERT INTO \(other).secret VALUES ('s3cr3t');"
      )
      let error = await #expect(throws: BulkError.self) {
        try await fixture.warehouse.export(
          Self.request("SELECT v FROM \(other).secret"),
          tenant: fixture.tenant,
          into: Collector()
        )
      }
      #expect(
        error?.message.contains("the query may read only the tenant's own tables") == true,
        "\(String(describing: error))"
      )
      #expect(error?.message.contains("permission denied") == true)
      #expect(error?.message.contains("s3cr3t") == false)
    }
  }

  @Test("a LIMIT in the outer select is refused with the way around it; in a subquery it runs")
  func outerLimit() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let error = await #expect(throws: BulkError.self) {
        try await fixture.warehouse.export(
          Self.request("SELECT * FROM items ORDER BY id LIMIT 2"),
          tenant: fixture.tenant,
          into: Collector()
        )
      }
      #expect(error?.message.contains("LIMIT in the outer SELECT") == true, "\(String(describing: error))")
      #expect(error?.message.contains("subquery") == true)
      let collector = Collector()
      let rows = try await fixture.warehouse.export(
        Self.request("SELECT * FROM (SELECT * FROM items ORDER BY id LIMIT 2) AS t"),
        tenant: fixture.tenant,
        into: collector
      )
      #expect(rows == 2)
    }
  }

  @Test("rows are counted across parts, in the manifest's order, in batches")
  func severalParts() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let request = Self.request("SELECT id, payload FROM many ORDER BY id", output: .values)
      let collector = Collector()
      #expect(try await fixture.warehouse.export(request, tenant: fixture.tenant, into: collector) == 2500)
      #expect(collector.values.map { $0[0] } == (1 ... 2500).map { .integer(Int64($0)) })
      #expect(collector.batches == 3)
      let folder = fixture.warehouse.staging.jobFolder(tenant: fixture.tenant, jobID: request.jobID) + "unload/"
      #expect(
        try await fixture.keys(under: folder).sorted() == [
          folder + "part_0000_part_00.gz", folder + "part_0001_part_00.gz", folder + "part_0002_part_00.gz",
          folder + "part_manifest",
        ]
      )
      let csv = Collector()
      #expect(
        try await fixture.warehouse.export(
          Self.request("SELECT id, payload FROM many ORDER BY id"),
          tenant: fixture.tenant,
          into: csv
        ) == 2500
      )
      #expect(csv.csv == (try await Self.postgresCopy(fixture, "SELECT id, payload FROM many ORDER BY id")))
    }
  }

  @Test("a query of no rows hands over no rows, from an empty part")
  func noRows() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let collector = Collector()
      #expect(
        try await fixture.warehouse.export(
          Self.request("SELECT * FROM items WHERE false"),
          tenant: fixture.tenant,
          into: collector
        ) == 0
      )
      #expect(collector.columns.count == 6)
      #expect(collector.batches == 0)
    }
  }

  @Test("removeLedger deletes the unloaded parts and manifest with the job's folder")
  func removedWithTheJob() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let request = Self.request("SELECT * FROM items")
      _ = try await fixture.warehouse.export(request, tenant: fixture.tenant, into: Collector())
      let folder = fixture.warehouse.staging.jobFolder(tenant: fixture.tenant, jobID: request.jobID)
      #expect(try await fixture.keys(under: folder).count == 4)
      try await fixture.warehouse.removeLedger(jobID: request.jobID, tenant: fixture.tenant)
      #expect(try await fixture.keys().isEmpty)
    }
  }

  @Test("a statement past its timeout, and a job aborted, fail with the reason a PostgreSQL query job gives")
  func cancelled() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let slow = await #expect(throws: BulkError.self) {
        try await fixture.warehouse.export(
          Self.request("SELECT pg_sleep(30)", timeout: .milliseconds(300)),
          tenant: fixture.tenant,
          into: Collector()
        )
      }
      #expect(slow?.message.contains("ran past its timeout") == true, "\(String(describing: slow))")
      let cancellation = QueryCancellation()
      cancellation.cancel(.aborted)
      let aborted = await #expect(throws: BulkError.self) {
        try await fixture.warehouse.export(
          Self.request("SELECT 1", cancellation: cancellation),
          tenant: fixture.tenant,
          into: Collector()
        )
      }
      #expect(aborted == BulkError.queryCancelled(.aborted, timeout: .seconds(60)))
    }
  }

  /// `SimulatedRedshift`, then what it wrote altered, as if S3 had lost or changed it.
  struct AlteredUnload: RedshiftS3Statements {
    let simulated: SimulatedRedshift
    /// Alters the objects of the unload.
    let alter: @Sendable (RedshiftUnload, S3Client) async throws -> Void

    func copy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
      try self.simulated.copy(copy, on: connection)
    }

    func unload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
      try self.simulated.unload(unload, on: connection)
      let (s3, alter) = (self.simulated.s3, self.alter)
      try blocking { try await alter(unload, s3) }
    }
  }

  /// A warehouse on the fixture whose unloads `alter` changes.
  static func alteredWarehouse(
    _ fixture: RedshiftFixture,
    alter: @escaping @Sendable (RedshiftUnload, S3Client) async throws -> Void
  ) -> RedshiftWarehouse {
    RedshiftWarehouse(
      base: fixture.base,
      staging: fixture.warehouse.staging,
      s3: fixture.s3,
      statements: AlteredUnload(simulated: SimulatedRedshift(s3: fixture.s3), alter: alter),
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
  }

  @Test("a manifest that lists an object outside the unload's folder fails the job before it is read")
  func foreignManifestEntry() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let foreign = "staged/other-tenant/job-1/unload/part_0000_part_00.gz"
      _ = try await fixture.s3.putObject(bucket: fixture.bucket, key: foreign, body: ByteBuffer(string: "secret"))
      let warehouse = Self.alteredWarehouse(fixture) { unload, s3 in
        let manifest = #"{"entries":[{"url":"s3://\#(unload.bucket)/\#(foreign)"}]}"#
        _ = try await s3.putObject(bucket: unload.bucket, key: unload.manifestKey, body: ByteBuffer(string: manifest))
      }
      let collector = Collector()
      let error = await #expect(throws: BulkError.self) {
        try await warehouse.export(Self.request("SELECT * FROM items"), tenant: fixture.tenant, into: collector)
      }
      #expect(
        error?.message.contains("lists s3://\(fixture.bucket)/\(foreign), which is not under the unload's folder")
          == true
      )
      #expect(collector.batches == 0)
    }
  }

  @Test("a corrupt part fails the job, naming the part and the byte")
  func corruptPart() async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let warehouse = Self.alteredWarehouse(fixture) { unload, s3 in
        let key = unload.destination + "0000_part_00.gz"
        var bytes = Array(try await s3.getObject(bucket: unload.bucket, key: key).body.readableBytesView)
        bytes[bytes.count / 2] ^= 0xFF
        _ = try await s3.putObject(bucket: unload.bucket, key: key, body: ByteBuffer(bytes: bytes))
      }
      let error = await #expect(throws: BulkError.self) {
        try await warehouse.export(Self.request("SELECT * FROM many"), tenant: fixture.tenant, into: Collector())
      }
      #expect(error?.message.contains("part 1 of 3 of the UNLOAD") == true, "\(String(describing: error))")
      #expect(error?.message.contains("cannot be read: the gzip stream is corrupt at byte") == true)
    }
  }

  @Test(
    "a manifest or a part missing from S3 fails the job, naming the object",
    arguments: [
      ("manifest", "its manifest"), ("0001_part_00.gz", "part 2 of 3 of the UNLOAD"),
    ]
  )
  func missingObject(lost: String, named: String) async throws {
    try await Self.withFixture { (fixture: RedshiftFixture) async throws in
      let warehouse = Self.alteredWarehouse(fixture) { unload, s3 in
        try await s3.deleteObject(bucket: unload.bucket, key: unload.destination + lost)
      }
      let request = Self.request("SELECT * FROM items ORDER BY id")
      let error = await #expect(throws: BulkError.self) {
        try await warehouse.export(request, tenant: fixture.tenant, into: Collector())
      }
      let folder = fixture.warehouse.staging.jobFolder(tenant: fixture.tenant, jobID: request.jobID)
      #expect(error?.message.contains(named) == true, "\(String(describing: error))")
      #expect(
        error?.message.contains("s3://\(fixture.bucket)/\(folder)unload/part_\(lost)") == true,
        "\(String(describing: error))"
      )
      #expect(error?.message.contains("missing") == true)
    }
  }
}
