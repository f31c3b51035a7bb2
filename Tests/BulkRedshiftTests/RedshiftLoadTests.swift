import BulkCore
import BulkEngine
import BulkPostgres
import BulkRedshift
import BulkS3
import BulkTestSupport
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

/// The Redshift load path for real against moto and the test PostgreSQL: objects staged in S3,
/// the manifest, the typed staging table, the checks, MERGE and the ledger; only `COPY` itself
/// is `SimulatedRedshift`'s.
@Suite("Redshift loads through S3")
struct RedshiftLoadTests {
  static let table = """
    CREATE TABLE orders (id integer PRIMARY KEY, name varchar(10) NOT NULL, amount numeric(12,2), \
    placed timestamp, note text)
    """

  /// A chunk of `records` (each `[id, name, amount, placed, note]`) for `operation`.
  static func work(
    _ fixture: RedshiftFixture,
    _ operation: BulkCore.Operation,
    _ records: [[FieldValue]],
    job: String = "job-1",
    chunk: Int = 0,
    columns: [String] = ["id", "name", "amount", "placed", "note"]
  ) async throws -> ChunkWork {
    let table = try #require(try await fixture.warehouse.describe(table: "orders", tenant: fixture.tenant))
    return ChunkWork(
      jobID: job,
      chunk: chunk,
      operation: operation,
      table: table,
      keyColumn: operation == .insert ? "" : "id",
      columns: columns,
      records: records.enumerated().map { ChunkRecord(number: Int64($0.offset + 1), values: $0.element) }
    )
  }

  static func code(_ outcome: RecordOutcome) -> String {
    switch outcome {
    case .succeeded(let created): created ? "created" : "updated"
    case .failed(let code, _): code
    }
  }

  @Test("an insert: good records load, each bad one fails alone with Redshift's reason, and the staged objects are gone")
  func insert() async throws {
    let fixture = try await RedshiftFixture.make(Self.table)
    defer { Task { try await fixture.shutdown() } }
    let placed = Date(timeIntervalSince1970: 1_700_000_000.25)
    let work = try await Self.work(
      fixture, .insert,
      [
        [.integer(1), .text("ann"), .number("12.50"), .timestamp(placed), .text("say \"hi\", then\nleave")],
        [.integer(2), .text("far too long a name"), .number("1"), .null, .null],
        [.integer(3), .text("cy"), .text("not a number"), .null, .null],
        [.integer(4), .null, .number("2"), .null, .null],
        [.integer(5), .text(""), .null, .null, .text("\\N")],
      ]
    )
    let outcomes = try await fixture.warehouse.apply(work, tenant: fixture.tenant)
    #expect(outcomes.map(Self.code) == ["created", "VALUE_TOO_LONG", "INVALID_VALUE", "NOT_NULL", "created"])
    if case .failed(_, let message) = outcomes[1] { #expect(message.hasPrefix("column 'name': ")) }
    if case .failed(_, let message) = outcomes[2] { #expect(message.contains("column 'amount'")) }
    if case .failed(_, let message) = outcomes[3] { #expect(message == "column 'name' may not be null") }
    let rows = try fixture.sql(
      "SELECT id, name, amount, placed, note IS NULL, note FROM orders ORDER BY id"
    )
    #expect(rows == "1|ann|12.50|2023-11-14 22:13:20.25|f|say \"hi\", then\nleave\n5||||f|\\N")
    #expect(try await fixture.keys(under: "staged/acme/job-1/load/").isEmpty)
    let ledger = try await fixture.warehouse.ledger(jobID: "job-1", tenant: fixture.tenant)
    #expect(ledger == [0: outcomes])
  }

  @Test("a chunk applied again returns its stored outcomes and applies nothing twice")
  func exactlyOnce() async throws {
    let fixture = try await RedshiftFixture.make(Self.table)
    defer { Task { try await fixture.shutdown() } }
    let work = try await Self.work(fixture, .insert, [[.integer(1), .text("a"), .null, .null, .null], [.integer(1), .null, .null, .null, .null]])
    let first = try await fixture.warehouse.apply(work, tenant: fixture.tenant)
    let second = try await fixture.warehouse.apply(work, tenant: fixture.tenant)
    #expect(first == second)
    #expect(try fixture.sql("SELECT count(*) FROM orders") == "1")
  }

  @Test("a COPY that fails part-way applies nothing, and the retry applies the chunk once")
  func failedCopy() async throws {
    let fixture = try await RedshiftFixture.make(Self.table)
    defer { Task { try await fixture.shutdown() } }
    let failing = RedshiftWarehouse(
      base: fixture.base,
      staging: fixture.warehouse.staging,
      s3: fixture.s3,
      statements: FailingAfterCopy(base: SimulatedRedshift(s3: fixture.s3)),
      logger: .init(label: "test")
    )
    let work = try await Self.work(fixture, .insert, [[.integer(7), .text("g"), .null, .null, .null]])
    await #expect(throws: PostgresError.self) { try await failing.apply(work, tenant: fixture.tenant) }
    #expect(try fixture.sql("SELECT count(*) FROM orders") == "0")
    #expect(try await fixture.warehouse.ledger(jobID: "job-1", tenant: fixture.tenant).isEmpty)
    #expect(try await fixture.keys(under: "staged/acme/job-1/load/").isEmpty)
    #expect(try await fixture.warehouse.apply(work, tenant: fixture.tenant) == [.succeeded(created: true)])
    #expect(try fixture.sql("SELECT count(*) FROM orders") == "1")
  }

  @Test("an upsert: created or updated by the key, and a key staged twice fails as DUPLICATE_KEY instead of failing MERGE")
  func upsert() async throws {
    let fixture = try await RedshiftFixture.make(Self.table + "; INSERT INTO orders (id, name) VALUES (1, 'old')")
    defer { Task { try await fixture.shutdown() } }
    let work = try await Self.work(
      fixture, .upsert,
      [[.integer(1), .text("new")], [.integer(2), .text("two")], [.integer(2), .text("again")], [.integer(3), .null]],
      columns: ["id", "name"]
    )
    let outcomes = try await fixture.warehouse.apply(work, tenant: fixture.tenant)
    #expect(outcomes.map(Self.code) == ["updated", "created", "DUPLICATE_KEY", "NOT_NULL"])
    if case .failed(_, let message) = outcomes[2] { #expect(message.hasPrefix("id = 2 is also in record 2 ")) }
    #expect(try fixture.sql("SELECT id, name FROM orders ORDER BY id") == "1|new\n2|two")
  }

  @Test("update and delete: a key the table lacks is NOT_FOUND, and a repeated delete finds its row gone")
  func updateAndDelete() async throws {
    let fixture = try await RedshiftFixture.make(Self.table + "; INSERT INTO orders (id, name) VALUES (1, 'a'), (2, 'b')")
    defer { Task { try await fixture.shutdown() } }
    let update = try await Self.work(fixture, .update, [[.integer(1), .text("A")], [.integer(9), .text("Z")]], columns: ["id", "name"])
    #expect(try await fixture.warehouse.apply(update, tenant: fixture.tenant).map(Self.code) == ["updated", "NOT_FOUND"])
    let delete = try await Self.work(fixture, .delete, [[.integer(2)], [.integer(2)], [.integer(8)]], chunk: 1, columns: ["id"])
    let outcomes = try await fixture.warehouse.apply(delete, tenant: fixture.tenant)
    #expect(outcomes.map(Self.code) == ["updated", "NOT_FOUND", "NOT_FOUND"])
    #expect(try fixture.sql("SELECT id, name FROM orders ORDER BY id") == "1|A")
  }

  @Test("a chunk split over several objects, one per slice, maps each rejected row back to its record")
  func severalObjects() async throws {
    let fixture = try await RedshiftFixture.make(Self.table, slices: 4, minimumObjectBytes: 64)
    defer { Task { try await fixture.shutdown() } }
    let recording = RecordingStatements(base: SimulatedRedshift(s3: fixture.s3), s3: fixture.s3)
    let warehouse = RedshiftWarehouse(
      base: fixture.base, staging: fixture.warehouse.staging, s3: fixture.s3, statements: recording, logger: .init(label: "test")
    )
    // Multi-line notes shift the lines of every later record.
    let records: [[FieldValue]] = (1 ... 40).map { id in
      [.integer(Int64(id)), .text(id % 13 == 0 ? "way too long here" : "n\(id)"), .number("\(id).5"), .null, .text("line\nbreak \(id)")]
    }
    let outcomes = try await warehouse.apply(try await Self.work(fixture, .insert, records), tenant: fixture.tenant)
    #expect(recording.objectCounts.withLock { $0 } == [4])
    #expect(outcomes.indices.filter { Self.code(outcomes[$0]) == "VALUE_TOO_LONG" } == [12, 25, 38])
    #expect(try fixture.sql("SELECT count(*), sum(id) FROM orders") == "37|742")
  }

  @Test("a chunk's outcomes larger than one ledger row are kept in pieces and read back whole")
  func ledgerPieces() async throws {
    let fixture = try await RedshiftFixture.make(Self.table)
    defer { Task { try await fixture.shutdown() } }
    let records: [[FieldValue]] = (1 ... 600).map { [.integer(Int64($0)), .text(String(repeating: "x", count: 11 + $0 % 50))] }
    let work = try await Self.work(fixture, .insert, records, columns: ["id", "name"])
    let outcomes = try await fixture.warehouse.apply(work, tenant: fixture.tenant)
    #expect(outcomes.allSatisfy { Self.code($0) == "VALUE_TOO_LONG" })
    #expect(Int(try fixture.sql("SELECT count(*) FROM _spectra_ledger WHERE job_id = 'job-1'")) ?? 0 > 1)
    #expect(try await fixture.warehouse.ledger(jobID: "job-1", tenant: fixture.tenant) == [0: outcomes])
    #expect(try await fixture.warehouse.apply(work, tenant: fixture.tenant) == outcomes)
  }

  @Test("a whole upsert job through the engine, and deleting the job deletes what it staged")
  func engineJob() async throws {
    let fixture = try await RedshiftFixture.make(Self.table + "; INSERT INTO orders (id, name) VALUES (1, 'old')")
    defer { Task { try await fixture.shutdown() } }
    try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 2)
      settings.chunkRecords = 3
      let harness = try EngineHarness(
        directory: directory,
        settings: settings,
        tenant: fixture.tenant,
        base: fixture.warehouse
      )
      let csv = "id,name,amount\n1,one,1.5\n2,two,2\n2,twice,3\n4,,4\n5,five,x\n6,six,6\n7,seven,7\n"
      let job = try await harness.run(JobSpec(operation: .upsert, object: "orders", externalIDField: "id"), csv: csv)
      #expect(job.state == .jobComplete)
      #expect(job.numberRecordsProcessed == 7)
      #expect(job.numberRecordsFailed == 3)
      let failed = try await harness.results(job, .failed).text
      #expect(failed.contains("DUPLICATE_KEY"))
      #expect(failed.contains("NOT_NULL"))
      #expect(try fixture.sql("SELECT id, name FROM orders ORDER BY id") == "1|one\n2|two\n6|six\n7|seven")
      try await fixture.s3.putObject(bucket: fixture.bucket, key: "staged/acme/\(job.id)/load/left-over", body: .init(string: "x"))
      try await harness.service.deleteJob(id: job.id, tenant: fixture.tenant)
      #expect(try await fixture.keys(under: "staged/acme/\(job.id)/").isEmpty)
      #expect(try await fixture.warehouse.ledger(jobID: job.id, tenant: fixture.tenant).isEmpty)
    }
  }
}

/// Runs `COPY`, then fails as a lost connection would, before the chunk's transaction.
struct FailingAfterCopy: RedshiftS3Statements {
  let base: SimulatedRedshift

  func copy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
    _ = try self.base.copy(copy, on: connection)
    throw PostgresError(message: "the connection was lost", isConnectionFailure: true)
  }

  func unload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
    try self.base.unload(unload, on: connection)
  }
}

/// Counts the objects each `COPY`'s manifest lists, then runs it.
final class RecordingStatements: RedshiftS3Statements {
  let base: SimulatedRedshift
  let s3: S3Client
  let objectCounts = Mutex<[Int]>([])

  init(base: SimulatedRedshift, s3: S3Client) {
    self.base = base
    self.s3 = s3
  }

  func copy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
    let (s3, bucket, key) = (self.s3, copy.manifestBucket, copy.manifestKey)
    let manifest = try blocking { try await s3.getObject(bucket: bucket, key: key).body }
    let count = String(buffer: manifest).components(separatedBy: "\"url\"").count - 1
    self.objectCounts.withLock { $0.append(count) }
    return try self.base.copy(copy, on: connection)
  }

  func unload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
    try self.base.unload(unload, on: connection)
  }
}
