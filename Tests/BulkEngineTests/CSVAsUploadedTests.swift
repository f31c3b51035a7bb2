import BulkCore
import BulkEngine
import BulkPostgres
import BulkTestSupport
import Foundation
import Synchronization
import Testing

/// An insert or upsert whose records all pass the checks goes to the warehouse as the CSV it was
/// uploaded in (`ChunkWork.csv`) and reads exactly as the same records given as values: PostgreSQL
/// loads it with one `COPY` into the table or the staging table (a chunk that it reads otherwise,
/// or refuses, is loaded as values), SQLite binds its values straight from the bytes.
@Suite("Records loaded as uploaded")
struct CSVAsUploadedTests {
  static let table = """
    CREATE TABLE items (
      id bigint PRIMARY KEY, name text NOT NULL, note text, amount numeric(12,2), ratio double precision,
      active boolean, born date, seen timestamptz, doc jsonb
    );
    """

  /// Loads `csv` into a fresh `items` and returns the harness's job, the calls, the table's rows
  /// as row literals (where NULL is nothing and an empty text `""`), sorted, and the failed set.
  static func load(
    _ csv: String,
    delimiter: String = "",
    chunkRecords: Int = 4,
    table: String = Self.table,
    object: String = "items",
    operation: BulkCore.Operation = .insert
  ) async throws -> (job: Job, calls: [Int: [Bool]], rows: [Substring], failed: String, successful: String) {
    let postgres = try await PostgresTenant.make(table)
    defer { postgres.warehouse.shutdown() }
    return try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 2)
      settings.chunkRecords = chunkRecords
      let harness = try postgres.harness(directory: directory, settings: settings) { RecordingWarehouse($0) }
      let recording = try #require(harness.engineWarehouse as? RecordingWarehouse)
      let spec = JobSpec(
        operation: operation,
        object: object,
        externalIDField: operation == .upsert ? "id" : "",
        columnDelimiter: delimiter
      )
      let job = try await harness.run(spec, csv: csv)
      let calls = recording.calls.withLock { $0 }
      let rows = try postgres.psql("SELECT t::text FROM \(object) t").split(separator: "\n").sorted()
      return (
        job, calls, rows, try await harness.results(job, .failed).text, try await harness.results(job, .successful).text
      )
    }
  }

  /// Every type, quoted values holding the delimiter, doubled quotes and line ends, quoted and
  /// unquoted empty values (NULL both), CRLF line ends.
  static let mixed = #"""
    id,name,note,amount,ratio,active,born,seen,doc\#r
    1,plain,,12.50,0.25,true,2024-02-29,2024-06-01T12:30:00Z,"{""a"": [1, 2]}"\#r
    2,"quoted, comma","line one\#r
    line two",-3,1000.5,N,1999-12-31,2024-06-01 12:30:00+02:00,\#r
    3,"say ""hi""","",+7.5,-0.5,yes,,2024-06-01,null\#r
    4,x,"\N",0,3,0,2000-01-01,2024-06-01T00:00:00.123456-05:30,"""s"""\#r
    5,back\slash,tab\#there,.5,,F,,,[]\#r

    """#

  @Test("records that pass the checks load as uploaded and read as the same records loaded as values do")
  func asUploaded() async throws {
    let uploaded = try await Self.load(Self.mixed)
    // The same records with one failing a check in each chunk, so that each chunk loads as values.
    let header = Self.mixed.prefix { $0 != "\r\n" }
    let asValues = try await Self.load(
      header + "\r\n0,bad,,x,,,,,\r\n" + Self.mixed.drop { $0 != "\r\n" }.dropFirst() + "6,bad,,y,,,,,\r\n"
    )
    #expect(uploaded.job.state == .jobComplete)
    #expect(uploaded.job.numberRecordsFailed == 0)
    #expect(uploaded.calls == [0: [true], 1: [true]])
    #expect(asValues.calls == [0: [false], 1: [false]])
    #expect(asValues.job.numberRecordsFailed == 2)
    #expect(uploaded.rows == asValues.rows)
    #expect(uploaded.rows.count == 5)
    #expect(uploaded.rows[1].hasPrefix("(2,\"quoted, comma\",\"line one\r\nline two\",-3.00,1000.5,f,1999-12-31,"))
    #expect(uploaded.rows[2].hasPrefix("(3,\"say \"\"hi\"\"\",,7.50,-0.5,t,,"))
    #expect(uploaded.rows[3].hasPrefix("(4,x,\"\\\\N\",0.00,3,f,2000-01-01,"))
    #expect(uploaded.rows[4] == "(5,\"back\\\\slash\",\"tab\there\",0.50,,f,,,[])")
  }

  @Test("a tab-separated upload loads as uploaded")
  func tabs() async throws {
    let loaded = try await Self.load(
      "id\tname\tnote\n1\ta\tb,c\n2\t\"d\te\"\t\n",
      delimiter: "TAB",
      table: "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, note text);"
    )
    #expect(loaded.calls == [0: [true]])
    #expect(loaded.rows == ["(1,a,\"b,c\")", "(2,\"d\te\",)"])
  }

  @Test("a chunk the database refuses loads again as values: only the bad record fails, with its reason")
  func refused() async throws {
    let loaded = try await Self.load(
      "id,name\n1,a\n2,b\n1,again\n3,c\n4,d\n",
      table: "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);"
    )
    #expect(loaded.calls == [0: [true, false], 1: [true]])
    #expect(loaded.job.numberRecordsFailed == 1)
    #expect(loaded.failed.contains("3,\"DUPLICATE_KEY: duplicate key value"))
    #expect(loaded.rows == ["(1,a)", "(2,b)", "(3,c)", "(4,d)"])
  }

  @Test("CSV that the database would read as other rows than the engine loads as values")
  func readOtherwise() async throws {
    // Alone on its line, `\.` ends PostgreSQL's CSV: the rows read would be fewer than the records.
    let loaded = try await Self.load(
      "name\na\n\\.\nb\n",
      table: "CREATE TABLE names (name text);",
      object: "names"
    )
    #expect(loaded.calls == [0: [true, false]])
    #expect(loaded.job.numberRecordsFailed == 0)
    #expect(loaded.rows == ["(\"\\\\.\")", "(a)", "(b)"])
  }

  @Test("a record that needs the full parse sends its chunk as values; NOT NULL is seen before the database")
  func needsValues() async throws {
    // A space before an integer: only the full check, which trims it, can take it.
    let loaded = try await Self.load(
      "id,name\n1,a\n2,\n 3,c\n4,d\n5,e\n",
      chunkRecords: 2,
      table: "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);"
    )
    #expect(loaded.calls == [0: [false], 1: [false], 2: [true]])
    #expect(loaded.job.numberRecordsFailed == 1)
    #expect(loaded.failed.contains("2,\"NOT_NULL: null value in column"))
  }

  /// Loads `csv` into the embedded SQLite's `items` and returns the job, the calls, every row
  /// with the types SQLite stored, and the failed set.
  static func loadSQLite(_ csv: String) async throws -> (job: Job, calls: [Int: [Bool]], rows: [[String]], failed: String) {
    try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 2)
      settings.chunkRecords = 4
      let harness = try EngineHarness(directory: directory, settings: settings) { RecordingWarehouse($0) }
      let recording = try #require(harness.engineWarehouse as? RecordingWarehouse)
      try harness.sql(
        """
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT, amount NUMERIC, ratio REAL,
          active BOOLEAN, born DATE, seen TIMESTAMP, doc JSON)
        """
      )
      let job = try await harness.run(JobSpec(operation: .insert, object: "items"), csv: csv)
      let rows = try harness.rows(
        "SELECT *, typeof(id), typeof(note), typeof(amount), typeof(ratio), typeof(active) FROM items ORDER BY id"
      )
      let calls = recording.calls.withLock { $0 }
      return (job, calls, rows, try await harness.results(job, .failed).text)
    }
  }

  @Test("SQLite binds the CSV as uploaded as it binds the same records' values; a refused record fails alone")
  func sqlite() async throws {
    // Record 3 repeats the key of record 1: SQLite refuses it, the others load.
    let csv = Self.mixed.replacingOccurrences(of: "3,\"say", with: "1,\"say")
    let uploaded = try await Self.loadSQLite(csv)
    let header = csv.prefix { $0 != "\r\n" }
    let asValues = try await Self.loadSQLite(
      header + "\r\n0,bad,,x,,,,,\r\n" + csv.drop { $0 != "\r\n" }.dropFirst() + "6,bad,,y,,,,,\r\n"
    )
    #expect(uploaded.calls == [0: [true], 1: [true]])
    #expect(asValues.calls == [0: [false], 1: [false]])
    #expect(uploaded.job.numberRecordsFailed == 1)
    #expect(uploaded.failed.contains("\n3,DUPLICATE_KEY: UNIQUE constraint failed: items.id,1,"))
    #expect(uploaded.failed.hasSuffix(",1,\"say \"\"hi\"\"\",\"\",+7.5,-0.5,yes,,2024-06-01,null\n"))
    #expect(uploaded.rows == asValues.rows)
    #expect(uploaded.rows.map { Array($0.suffix(5)) }.first == ["integer", "null", "real", "real", "integer"])
    #expect(uploaded.rows.count == 4)
  }

  /// Records 1 and 3 share a key (round 2 applies record 3 after record 1); keys 1 and 2 exist.
  static let upsert = "id,name\n1,a\n3,b\n1,c\n4,d\n"
  static let upserted = "_record,_created,id,name\n1,false,1,a\n2,true,3,b\n3,false,1,c\n4,true,4,d\n"

  @Test("an upsert into PostgreSQL stages the CSV as uploaded: a repeated key applies in order, each record created or not")
  func upsertPostgres() async throws {
    let loaded = try await Self.load(
      Self.upsert,
      table: "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL); INSERT INTO items VALUES (1, 'old'), (2, 'old');",
      operation: .upsert
    )
    #expect(loaded.calls == [0: [true]])
    #expect(loaded.successful == Self.upserted)
    #expect(loaded.rows == ["(1,c)", "(2,old)", "(3,b)", "(4,d)"])
  }

  @Test("an upsert into SQLite binds the CSV as uploaded: a repeated key applies in order, each record created or not")
  func upsertSQLite() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: EngineSettings(workers: 1)) { RecordingWarehouse($0) }
      let recording = try #require(harness.engineWarehouse as? RecordingWarehouse)
      try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO items VALUES (1, 'old'), (2, 'old');")
      let job = try await harness.run(JobSpec(operation: .upsert, object: "items", externalIDField: "id"), csv: Self.upsert)
      #expect(recording.calls.withLock { $0 } == [0: [true]])
      #expect(try await harness.results(job, .successful).text == Self.upserted)
      #expect(try harness.rows("SELECT id, name FROM items ORDER BY id") == [["1", "c"], ["2", "old"], ["3", "b"], ["4", "d"]])
    }
  }
}
