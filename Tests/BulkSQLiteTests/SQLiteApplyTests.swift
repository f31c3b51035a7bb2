import BulkCore
import BulkSQLite
import BulkTestSupport
import Foundation
import Testing

/// What `SQLiteWarehouse.apply` stores for each kind of value, and the outcomes it reports.
@Suite("SQLite chunk apply")
struct SQLiteApplyTests {
  static let tenant = Tenant(id: "acme")

  /// A warehouse with table `t (id INTEGER PRIMARY KEY, v)` (no type, so values keep theirs), and
  /// a chunk of work on it.
  static func withTable(
    _ body: (SQLiteWarehouse, SQLiteConnection, (BulkCore.Operation, [[FieldValue]]) async throws -> [RecordOutcome])
      async throws
      -> Void
  ) async throws {
    try await withTemporaryDirectory { directory in
      let warehouse = try SQLiteWarehouse(directory: directory)
      let connection = try SQLiteConnection(path: warehouse.path(of: Self.tenant))
      try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
      let table = try #require(try await warehouse.describe(table: "t", tenant: Self.tenant))
      var chunk = 0
      try await body(warehouse, connection) { operation, records in
        chunk += 1
        let work = ChunkWork(
          jobID: "job",
          chunk: chunk,
          operation: operation,
          table: table,
          keyColumn: operation == .insert ? "" : "id",
          columns: operation == .delete ? ["id"] : ["id", "v"],
          records: records.enumerated().map { ChunkRecord(number: Int64($0.offset + 1), values: $0.element) }
        )
        return try await warehouse.apply(work, tenant: Self.tenant)
      }
    }
  }

  static func stored(_ connection: SQLiteConnection) throws -> [String] {
    let statement = try connection.prepare("SELECT typeof(v) || ' ' || quote(v) FROM t ORDER BY id")
    var rows: [String] = []
    while try statement.step() { rows.append(statement.text(0)) }
    return rows
  }

  @Test("each value is stored with its type: '' is not NULL, numbers are numbers, bytes are blobs, timestamps UTC text")
  func valueKinds() async throws {
    try await Self.withTable { _, connection, apply in
      let values: [FieldValue] = [
        .text(""), .null, .text("ünï ' code"), .number("42"), .number("-1.5e3"),
        .number("1" + String(repeating: "0", count: 30)), .double(0.25), .bool(true), .bytes([0, 1, 255]), .bytes([]),
        .timestamp(Date(timeIntervalSince1970: 1_717_245_000)),
      ]
      let outcomes = try await apply(.insert, values.enumerated().map { [.integer(Int64($0.offset + 1)), $0.element] })
      #expect(outcomes == Array(repeating: .succeeded(created: true), count: 11))
      let stored = try Self.stored(connection)
      #expect(
        stored == [
          "text ''", "null NULL", "text 'ünï '' code'", "integer 42", "real -1500.0", "real 1.0e+30", "real 0.25",
          "integer 1", "blob X'0001FF'", "blob X''", "text '2024-06-01T12:30:00.000'",
        ]
      )
    }
  }

  @Test("a refused record fails alone with its code; update and delete name a missing key")
  func outcomes() async throws {
    try await Self.withTable { _, connection, apply in
      let records: [[FieldValue]] = [
        [.integer(1), .text("a")], [.integer(1), .text("b")], [.integer(2), .text("c")],
      ]
      let inserted = try await apply(.insert, records)
      #expect(inserted[0] == .succeeded(created: true))
      guard case .failed(let code, _) = inserted[1] else {
        Issue.record("the repeated key loaded: \(inserted)")
        return
      }
      #expect(code == "DUPLICATE_KEY")
      #expect(inserted[2] == .succeeded(created: true))

      let updated = try await apply(.update, [[.integer(2), .text("C")], [.integer(9), .text("x")]])
      #expect(updated == [.succeeded(created: false), .failed(code: "NOT_FOUND", message: "no row with id = 9")])
      let upserted = try await apply(.upsert, [[.integer(1), .text("A")], [.integer(3), .text("d")]])
      #expect(upserted == [.succeeded(created: false), .succeeded(created: true)])
      let deleted = try await apply(.delete, [[.integer(3)], [.integer(4)]])
      #expect(deleted == [.succeeded(created: false), .failed(code: "NOT_FOUND", message: "no row with id = 4")])
      #expect(try Self.stored(connection) == ["text 'A'", "text 'C'"])
    }
  }
}
