import BulkCore
import BulkPostgres
import Foundation
import Testing

@Suite("PostgresWarehouse")
struct PostgresWarehouseTests {
  @Test("describe reads columns, types, nullability, defaults and keys of the tenant's schema only")
  func describe() async throws {
    let schema = try await TestSchema.make(
      """
      CREATE TYPE mood AS ENUM ('happy', 'sad');
      CREATE TABLE parent (id integer PRIMARY KEY);
      CREATE TABLE items (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        code varchar(12) NOT NULL UNIQUE,
        small smallint,
        ratio real,
        amount numeric(12,2) DEFAULT 0,
        flag boolean,
        note text,
        letter char(3),
        born date,
        seen timestamptz,
        plain timestamp(3),
        blob bytea,
        doc jsonb,
        js json,
        uid uuid,
        tags text[],
        feeling mood,
        parent_id integer REFERENCES parent (id),
        a integer,
        b integer,
        twice integer GENERATED ALWAYS AS (a * 2) STORED,
        UNIQUE (a, b)
      );
      CREATE UNIQUE INDEX items_note ON items (note) WHERE note IS NOT NULL;
      CREATE UNIQUE INDEX items_uid ON items (uid);
      CREATE TABLE composite (x integer, y text, PRIMARY KEY (y, x));
      CREATE SCHEMA \("other_" + UUID().uuidString.prefix(8).lowercased());
      """
    )
    let items = try #require(try await schema.warehouse.describe(table: "items", tenant: schema.tenant))
    #expect(items.name == "items")
    #expect(
      items.columns.map(\.name) == [
        "id", "code", "small", "ratio", "amount", "flag", "note", "letter", "born", "seen", "plain", "blob", "doc",
        "js", "uid", "tags", "feeling", "parent_id", "a", "b", "twice",
      ]
    )
    let expected: [String: (String, ColumnType, nullable: Bool, hasDefault: Bool)] = [
      "id": ("bigint", .integer, false, true),
      "code": ("character varying(12)", .text, false, false),
      "small": ("smallint", .integer, true, false),
      "ratio": ("real", .double, true, false),
      "amount": ("numeric(12,2)", .decimal, true, true),
      "flag": ("boolean", .boolean, true, false),
      "note": ("text", .text, true, false),
      "letter": ("character(3)", .text, true, false),
      "born": ("date", .date, true, false),
      "seen": ("timestamp with time zone", .timestamp, true, false),
      "plain": ("timestamp(3) without time zone", .timestamp, true, false),
      "blob": ("bytea", .bytes, true, false),
      "doc": ("jsonb", .json, true, false),
      "js": ("json", .json, true, false),
      "uid": ("uuid", .other, true, false),
      "tags": ("text[]", .other, true, false),
      "feeling": ("\(schema.tenant.schema).mood", .other, true, false),
      "parent_id": ("integer", .integer, true, false),
      "twice": ("integer", .integer, true, true),
    ]
    for (name, (declaredType, type, nullable, hasDefault)) in expected {
      let column = try #require(items.column(named: name))
      #expect(column.declaredType == declaredType, "\(name)")
      #expect(column.type == type, "\(name)")
      #expect(column.nullable == nullable, "\(name)")
      #expect(column.hasDefault == hasDefault, "\(name)")
    }
    #expect(items.primaryKey == ["id"])
    // The partial index and the two-column constraint do not make single-column keys.
    #expect(items.uniqueColumns == ["id", "code", "uid"])

    let composite = try #require(try await schema.warehouse.describe(table: "composite", tenant: schema.tenant))
    #expect(composite.primaryKey == ["y", "x"])
    #expect(composite.uniqueColumns.isEmpty)
    #expect(composite.columns.allSatisfy { !$0.nullable })

    #expect(try await schema.warehouse.describe(table: "missing", tenant: schema.tenant) == nil)
    #expect(try await schema.warehouse.describe(table: "Items", tenant: schema.tenant) == nil)
    // Another tenant's table, and a table of another schema, are not this tenant's.
    let other = try await TestSchema.make("CREATE TABLE secret (id integer);")
    #expect(try await schema.warehouse.describe(table: "secret", tenant: schema.tenant) == nil)
    #expect(try await other.warehouse.describe(table: "secret", tenant: other.tenant) != nil)
    #expect(try await schema.warehouse.describe(table: "pg_class", tenant: schema.tenant) == nil)
  }

  @Test("insert loads good rows of every value kind")
  func insert() async throws {
    let schema = try await TestSchema.make(
      """
      CREATE TABLE things (
        id integer PRIMARY KEY, name text, price numeric(10,2), ratio double precision, active boolean,
        data bytea, seen timestamptz, doc jsonb, born date
      );
      """
    )
    let seen = Date(timeIntervalSince1970: 1_700_000_000.123456)
    let outcomes = try await schema.apply(
      .insert,
      table: "things",
      columns: ["id", "name", "price", "ratio", "active", "data", "seen", "doc", "born"],
      records: [
        [
          .integer(1), .text("Ada"), .number("12.50"), .double(0.1), .bool(true), .bytes([0, 1, 0xfe, 0xff]),
          .timestamp(seen), .text(#"{"a": [1, 2]}"#), .text("2024-02-29"),
        ],
        [.text("2"), .null, .null, .double(-1e-5), .bool(false), .bytes([]), .null, .null, .null],
        [.number("3"), .text(""), .text("7"), .double(.infinity), .text("yes"), .null, .null, .text("null"), .null],
      ]
    )
    #expect(outcomes == Array(repeating: .succeeded(created: true), count: 3))
    let rows = try schema.psql(
      """
      SELECT id, coalesce(name, '<null>'), price, ratio, active, encode(data, 'hex'), extract(epoch FROM seen), doc, born
      FROM things ORDER BY id
      """
    )
    #expect(
      rows == """
        1|Ada|12.50|0.1|t|0001feff|1700000000.123456|{"a": [1, 2]}|2024-02-29
        2|<null>||-1e-05|f||||
        3||7.00|Infinity|t|||null|
        """
    )
  }

  @Test("per-record errors in a chunk of 200: exactly the bad records fail, with codes and reasons")
  func perRecordErrors() async throws {
    let schema = try await TestSchema.make(
      """
      CREATE TABLE parent (id integer PRIMARY KEY);
      INSERT INTO parent SELECT generate_series(1, 10);
      CREATE TABLE lines (
        id integer PRIMARY KEY,
        name varchar(10) NOT NULL,
        qty integer CHECK (qty >= 0),
        parent_id integer REFERENCES parent (id)
      );
      INSERT INTO lines VALUES (7, 'existing', 1, 1);
      """
    )
    var records: [[FieldValue]] = (0 ..< 200).map { (index: Int) -> [FieldValue] in
      let id = Int64(1000 + index)
      let parent = Int64(index % 10 + 1)
      return [.integer(id), .text("row \(index)"), .text(String(index)), .integer(parent)]
    }
    records[10][0] = .integer(7)
    records[50][1] = .null
    records[90][3] = .integer(99)
    records[120][2] = .text("abc")
    records[150][1] = .text("far too long a name")
    records[180][2] = .integer(-5)
    let outcomes = try await schema.apply(
      .insert,
      table: "lines",
      columns: ["id", "name", "qty", "parent_id"],
      records: records
    )
    #expect(outcomes.count == 200)
    let failures = outcomes.enumerated().compactMap { index, outcome -> (Int, String, String)? in
      guard case .failed(let code, let message) = outcome else { return nil }
      return (index, code, message)
    }
    #expect(failures.map(\.0) == [10, 50, 90, 120, 150, 180])
    #expect(
      failures.map(\.1) == [
        "DUPLICATE_KEY", "NOT_NULL", "FOREIGN_KEY", "INVALID_VALUE", "VALUE_TOO_LONG", "CHECK_VIOLATION",
      ]
    )
    let messages = failures.map(\.2)
    #expect(
      messages[0] == #"duplicate key value violates unique constraint "lines_pkey": Key (id)=(7) already exists."#
    )
    #expect(messages[1].hasPrefix(#"null value in column "name" of relation "lines" violates not-null constraint"#))
    #expect(
      messages[2]
        == #"insert or update on table "lines" violates foreign key constraint "lines_parent_id_fkey": Key (parent_id)=(99) is not present in table "parent"."#
    )
    #expect(messages[3] == #"invalid input syntax for type integer: "abc""#)
    #expect(messages[4] == "value too long for type character varying(10)")
    #expect(messages[5].hasPrefix(#"new row for relation "lines" violates check constraint "lines_qty_check""#))

    #expect(try schema.psql("SELECT count(*) FROM lines WHERE id >= 1000") == "194")
    #expect(try schema.psql("SELECT name FROM lines WHERE id = 7") == "existing")
    let loaded = try schema.psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM lines WHERE id >= 1000")
    let expectedIDs = (0 ..< 200).filter { ![10, 50, 90, 120, 150, 180].contains($0) }.map { String(1000 + $0) }
    #expect(loaded == expectedIDs.joined(separator: ","))
  }

  @Test("update and delete report NOT_FOUND for keys that match nothing and apply the rest")
  func updateAndDelete() async throws {
    let schema = try await TestSchema.make(
      """
      CREATE TABLE accounts (id integer PRIMARY KEY, owner text NOT NULL, balance numeric(10,2));
      INSERT INTO accounts SELECT i, 'owner ' || i, i * 10 FROM generate_series(1, 10) AS i;
      """
    )
    let updated = try await schema.apply(
      .update,
      table: "accounts",
      key: "id",
      columns: ["id", "balance"],
      records: [
        [.integer(2), .number("99.5")], [.integer(42), .number("1")], [.integer(3), .null], [.text("x"), .null],
      ]
    )
    #expect(
      updated == [
        .succeeded(created: false),
        .failed(code: "NOT_FOUND", message: "no row with id = 42"),
        .succeeded(created: false),
        .failed(code: "INVALID_VALUE", message: #"invalid input syntax for type integer: "x""#),
      ]
    )
    #expect(
      try schema.psql("SELECT id, coalesce(balance::text, 'null') FROM accounts WHERE id IN (2, 3) ORDER BY id")
        == "2|99.50\n3|null"
    )

    let deleted = try await schema.apply(
      .delete,
      table: "accounts",
      key: "id",
      columns: ["id"],
      records: [[.integer(4)], [.integer(404)], [.text("5")]]
    )
    #expect(
      deleted == [
        .succeeded(created: false), .failed(code: "NOT_FOUND", message: "no row with id = 404"),
        .succeeded(created: false),
      ]
    )
    #expect(try schema.psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts") == "1,2,3,6,7,8,9,10")

    // A value that breaks a constraint fails alone in an update too.
    let constrained = try await schema.apply(
      .update,
      table: "accounts",
      key: "id",
      columns: ["id", "owner"],
      records: [[.integer(6), .null], [.integer(7), .text("new owner")]]
    )
    #expect(constrained.map { if case .failed(let code, _) = $0 { code } else { "ok" } } == ["NOT_NULL", "ok"])
    #expect(try schema.psql("SELECT owner FROM accounts WHERE id IN (6, 7) ORDER BY id") == "owner 6\nnew owner")
  }

  @Test("upsert reports created for new rows and updated for existing ones")
  func upsert() async throws {
    let schema = try await TestSchema.make(
      """
      CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE, name text NOT NULL);
      INSERT INTO customers (email, name) VALUES ('ada@example.com', 'Ada'), ('alan@example.com', 'Alan');
      """
    )
    let outcomes = try await schema.apply(
      .upsert,
      table: "customers",
      key: "email",
      columns: ["email", "name"],
      records: [
        [.text("grace@example.com"), .text("Grace")],
        [.text("ada@example.com"), .text("Ada Lovelace")],
        [.text("linus@example.com"), .null],
        [.text("alan@example.com"), .text("Alan Turing")],
        [.text("edsger@example.com"), .text("Edsger")],
      ]
    )
    #expect(outcomes[0] == .succeeded(created: true))
    #expect(outcomes[1] == .succeeded(created: false))
    #expect(outcomes[2].isFailure(code: "NOT_NULL"))
    #expect(outcomes[3] == .succeeded(created: false))
    #expect(outcomes[4] == .succeeded(created: true))
    #expect(
      try schema.psql("SELECT email, name FROM customers ORDER BY email")
        == """
        ada@example.com|Ada Lovelace
        alan@example.com|Alan Turing
        edsger@example.com|Edsger
        grace@example.com|Grace
        """
    )
  }

  @Test("repeated keys in one chunk end as if the records were applied in order")
  func repeatedKeys() async throws {
    let schema = try await TestSchema.make(
      """
      CREATE TABLE stock (sku text PRIMARY KEY, qty integer NOT NULL);
      INSERT INTO stock VALUES ('a', 1), ('b', 2), ('c', 3);
      """
    )
    let updated = try await schema.apply(
      .update,
      table: "stock",
      key: "sku",
      columns: ["sku", "qty"],
      records: [
        [.text("a"), .integer(10)], [.text("b"), .integer(20)], [.text("a"), .integer(11)], [.text("a"), .integer(12)],
      ]
    )
    #expect(updated == Array(repeating: .succeeded(created: false), count: 4))
    #expect(try schema.psql("SELECT sku, qty FROM stock ORDER BY sku") == "a|12\nb|20\nc|3")

    let upserted = try await schema.apply(
      .upsert,
      table: "stock",
      key: "sku",
      columns: ["sku", "qty"],
      records: [
        [.text("d"), .integer(1)], [.text("d"), .integer(2)], [.text("c"), .null], [.text("c"), .integer(30)],
      ]
    )
    #expect(upserted[0] == .succeeded(created: true))
    #expect(upserted[1] == .succeeded(created: false))
    #expect(upserted[2].isFailure(code: "NOT_NULL"))
    #expect(upserted[3] == .succeeded(created: false))
    #expect(try schema.psql("SELECT sku, qty FROM stock ORDER BY sku") == "a|12\nb|20\nc|30\nd|2")

    let deleted = try await schema.apply(
      .delete,
      table: "stock",
      key: "sku",
      columns: ["sku"],
      records: [[.text("a")], [.text("a")], [.text("b")]]
    )
    #expect(
      deleted == [
        .succeeded(created: false), .failed(code: "NOT_FOUND", message: "no row with sku = a"),
        .succeeded(created: false),
      ]
    )

    let inserted = try await schema.apply(
      .insert,
      table: "stock",
      columns: ["sku", "qty"],
      records: [[.text("e"), .integer(1)], [.text("e"), .integer(2)]]
    )
    #expect(inserted[0] == .succeeded(created: true))
    #expect(inserted[1].isFailure(code: "DUPLICATE_KEY"))
    #expect(try schema.psql("SELECT sku, qty FROM stock ORDER BY sku") == "c|30\nd|2\ne|1")
  }

  @Test("values with SQL, tabs, newlines, backslashes and unicode are stored byte for byte")
  func byteExactValues() async throws {
    let schema = try await TestSchema.make(
      """
      CREATE TABLE x (id integer PRIMARY KEY);
      CREATE TABLE notes (id integer PRIMARY KEY, body text, code varchar(40));
      """
    )
    let values = [
      "'); DROP TABLE x; --",
      "tab\there\nnew line\r\nback\\slash \\N \\x00 end\\",
      "",
      "unicode: ünïcödé 日本語 🧪 \u{200B} \"quoted\" 'single'",
      "\\N",
    ]
    let outcomes = try await schema.apply(
      .insert,
      table: "notes",
      columns: ["id", "body", "code"],
      records: values.enumerated().map {
        [.integer(Int64($0.offset)), .text($0.element), .text("x\"; DROP TABLE x; --")]
      }
    )
    #expect(outcomes == Array(repeating: .succeeded(created: true), count: values.count))
    let stored = try schema.psql("SELECT encode(convert_to(body, 'UTF8'), 'hex') FROM notes ORDER BY id")
    #expect(stored.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) == values.map(Self.hex))
    #expect(try schema.psql("SELECT count(*) FROM x") == "0")
    #expect(try schema.psql("SELECT DISTINCT code FROM notes") == "x\"; DROP TABLE x; --")

    // The same through the staging table (update casts staged text).
    let updated = try await schema.apply(
      .update,
      table: "notes",
      key: "id",
      columns: ["id", "body"],
      records: values.enumerated().map { [.integer(Int64($0.offset)), .text($0.element + "!")] }
    )
    #expect(updated == Array(repeating: .succeeded(created: false), count: values.count))
    let restored = try schema.psql("SELECT encode(convert_to(body, 'UTF8'), 'hex') FROM notes ORDER BY id")
    #expect(restored.split(separator: "\n").map(String.init) == values.map { Self.hex($0 + "!") })
  }

  @Test("a table and columns with mixed case and spaces are quoted everywhere")
  func quotedNames() async throws {
    let schema = try await TestSchema.make(
      #"CREATE TABLE "Order Lines" ("Line No" integer PRIMARY KEY, "Qty ""x""" integer, "select" text);"#
    )
    let table = try #require(try await schema.warehouse.describe(table: "Order Lines", tenant: schema.tenant))
    #expect(table.columns.map(\.name) == ["Line No", "Qty \"x\"", "select"])
    #expect(table.primaryKey == ["Line No"])
    let columns = ["Line No", "Qty \"x\"", "select"]
    let inserted = try await schema.apply(
      .insert,
      table: "Order Lines",
      columns: columns,
      records: [[.integer(1), .integer(5), .text("a")], [.integer(2), .integer(6), .text("b")]]
    )
    #expect(inserted == [.succeeded(created: true), .succeeded(created: true)])
    let upserted = try await schema.apply(
      .upsert,
      table: "Order Lines",
      key: "Line No",
      columns: columns,
      records: [[.integer(2), .integer(60), .text("B")], [.integer(3), .integer(7), .text("c")]]
    )
    #expect(upserted == [.succeeded(created: false), .succeeded(created: true)])
    let deleted = try await schema.apply(
      .delete,
      table: "Order Lines",
      key: "Line No",
      columns: ["Line No"],
      records: [[.integer(1)]]
    )
    #expect(deleted == [.succeeded(created: false)])
    #expect(
      try schema.psql(#"SELECT "Line No", "Qty ""x""", "select" FROM "Order Lines" ORDER BY 1"#) == "2|60|B\n3|7|c"
    )
  }

  @Test("a chunk applies exactly once: a second apply returns the ledger's outcomes and changes nothing")
  func exactlyOnce() async throws {
    let schema = try await TestSchema.make("CREATE TABLE events (id integer PRIMARY KEY, kind text NOT NULL);")
    // Before any chunk, the ledger table does not exist yet: no error.
    #expect(try await schema.warehouse.ledger(jobID: "job-1", tenant: schema.tenant).isEmpty)
    try await schema.warehouse.removeLedger(jobID: "job-1", tenant: schema.tenant)

    let work = try await schema.work(
      .insert,
      table: "events",
      columns: ["id", "kind"],
      records: [[.integer(1), .text("a")], [.integer(2), .null], [.integer(3), .text("c")]],
      chunk: 4
    )
    let first = try await schema.warehouse.apply(work, tenant: schema.tenant)
    #expect(first[0] == .succeeded(created: true))
    #expect(first[1].isFailure(code: "NOT_NULL"))
    let second = try await schema.warehouse.apply(work, tenant: schema.tenant)
    #expect(second == first)
    #expect(try schema.psql("SELECT count(*) FROM events") == "2")

    // Another chunk of the same job, and another job.
    var next = work
    next.chunk = 5
    next.records = [ChunkRecord(number: 4, values: [.integer(4), .text("d")])]
    #expect(try await schema.warehouse.apply(next, tenant: schema.tenant) == [.succeeded(created: true)])
    var otherJob = next
    otherJob.jobID = "job-2"
    otherJob.records = [ChunkRecord(number: 1, values: [.integer(5), .text("e")])]
    _ = try await schema.warehouse.apply(otherJob, tenant: schema.tenant)

    #expect(
      try await schema.warehouse.ledger(jobID: "job-1", tenant: schema.tenant) == [
        4: first, 5: [.succeeded(created: true)],
      ]
    )
    #expect(try schema.psql("SELECT count(*) FROM _spectra_ledger") == "3")

    try await schema.warehouse.removeLedger(jobID: "job-1", tenant: schema.tenant)
    #expect(try await schema.warehouse.ledger(jobID: "job-1", tenant: schema.tenant).isEmpty)
    #expect(try await schema.warehouse.ledger(jobID: "job-2", tenant: schema.tenant).count == 1)
    // A tenant whose schema does not even exist has no ledger either.
    let nowhere = Tenant(id: "nobody", schema: "no_such_schema_\(UUID().uuidString.prefix(8).lowercased())")
    #expect(try await schema.warehouse.ledger(jobID: "job-1", tenant: nowhere).isEmpty)
    try await schema.warehouse.removeLedger(jobID: "job-1", tenant: nowhere)
  }

  @Test("50 concurrent chunks on a pool of 8 connections all apply")
  func concurrentApplies() async throws {
    let schema = try await TestSchema.make(
      "CREATE TABLE readings (id integer PRIMARY KEY, value double precision);",
      poolSize: 8
    )
    let table = try #require(try await schema.warehouse.describe(table: "readings", tenant: schema.tenant))
    let outcomes = try await withThrowingTaskGroup(of: [RecordOutcome].self) { group in
      for chunk in 0 ..< 50 {
        let work = ChunkWork(
          jobID: "concurrent",
          chunk: chunk,
          operation: chunk.isMultiple(of: 2) ? .insert : .upsert,
          table: table,
          keyColumn: chunk.isMultiple(of: 2) ? "" : "id",
          columns: ["id", "value"],
          records: (0 ..< 100).map { index in
            ChunkRecord(
              number: Int64(index + 1),
              values: [.integer(Int64(chunk * 100 + index)), .double(Double(index) / 4)]
            )
          }
        )
        group.addTask { try await schema.warehouse.apply(work, tenant: schema.tenant) }
      }
      return try await group.reduce(into: []) { $0 += $1 }
    }
    #expect(outcomes.count == 5000)
    #expect(outcomes.allSatisfy { $0 == .succeeded(created: true) })
    #expect(try schema.psql("SELECT count(*), count(DISTINCT id) FROM readings") == "5000|5000")
    #expect(try await schema.warehouse.ledger(jobID: "concurrent", tenant: schema.tenant).count == 50)
  }

  @Test("a chunk whose key column is not among its columns, or that has none, is refused")
  func invalidChunks() async throws {
    let schema = try await TestSchema.make("CREATE TABLE t (id integer PRIMARY KEY, v text);")
    await #expect(throws: BulkError.self) {
      try await schema.apply(.update, table: "t", key: "id", columns: ["v"], records: [[.text("a")]])
    }
    await #expect(throws: BulkError.self) {
      try await schema.apply(.insert, table: "t", columns: [], records: [[]])
    }
    #expect(try await schema.apply(.insert, table: "t", columns: ["id"], records: []) == [])
  }

  static func hex(_ text: String) -> String {
    text.utf8.map { String(format: "%02x", $0) }.joined()
  }
}

extension RecordOutcome {
  func isFailure(code expected: String) -> Bool {
    if case .failed(let code, _) = self { return code == expected }
    return false
  }
}
