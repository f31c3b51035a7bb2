import BulkCore
import BulkEngine
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging
import Testing

/// Every operation from every upload format, on both warehouses.
@Suite("Operations × formats × warehouses")
struct OperationMatrixTests {
  enum Warehouse: String, CaseIterable, Sendable {
    case sqlite, postgres
  }

  static let cases: [(Warehouse, ContentType)] = Warehouse.allCases.flatMap { warehouse in
    [ContentType.csv, .json, .recordBatch].map { (warehouse, $0) }
  }

  /// An upload of `rows` (column names, then values; `nil` is null) in `format`.
  static func payload(_ columns: [String], _ rows: [[String?]], _ format: ContentType) -> UploadPayload {
    switch format {
    case .csv:
      let lines = [columns.joined(separator: ",")] + rows.map { $0.map { $0 ?? "" }.joined(separator: ",") }
      return .bytes(Data((lines.joined(separator: "\n") + "\n").utf8))
    case .json:
      let objects = rows.map { row in
        "{"
          + zip(columns, row).map { "\"\($0)\": \($1.map { Int($0) != nil ? $0 : "\"\($0)\"" } ?? "null")" }
          .joined(separator: ", ") + "}"
      }
      return .bytes(Data(("[" + objects.joined(separator: ",\n") + "]").utf8))
    case .recordBatch:
      return .records(columns: columns, rows: rows.map { $0.map { $0.map(FieldValue.text) ?? .null } })
    }
  }

  @Test("insert, update, upsert and delete", arguments: Self.cases)
  func operations(warehouse kind: Warehouse, format: ContentType) async throws {
    try await withTemporaryDirectory { directory in
      let harness: EngineHarness
      let names: () throws -> [String]
      var postgres: PostgresWarehouse?
      switch kind {
      case .sqlite:
        harness = try EngineHarness(directory: directory, settings: EngineSettings(workers: 2))
        try harness.sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        names = { try harness.rows("SELECT id || ':' || name FROM people ORDER BY id").map { $0[0] } }
      case .postgres:
        let tenant = try await PostgresTenant.make("CREATE TABLE people (id bigint PRIMARY KEY, name text NOT NULL);")
        postgres = tenant.warehouse
        harness = try tenant.harness(directory: directory, settings: EngineSettings(workers: 2))
        names = { try tenant.psql("SELECT id || ':' || name FROM people ORDER BY id").split(separator: "\n").map(String.init) }
      }
      defer { postgres?.shutdown() }
      func run(
        _ operation: BulkCore.Operation,
        key: String = "",
        _ columns: [String],
        _ rows: [[String?]]
      ) async throws -> Job {
        let spec = JobSpec(operation: operation, object: "people", contentType: format, externalIDField: key)
        let job = try await harness.finished(try await harness.submit(spec, [Self.payload(columns, rows, format)]))
        #expect(job.state == .jobComplete, "\(operation.rawValue): \(job.errorMessage)")
        return job
      }

      let insert = try await run(
        .insert,
        ["id", "name"],
        [["1", "Ada"], ["2", "Grace"], ["3", nil], ["4", "Alan"]]
      )
      #expect(insert.numberRecordsFailed == 1)
      #expect(try names() == ["1:Ada", "2:Grace", "4:Alan"])

      let update = try await run(.update, ["id", "name"], [["2", "Hopper"], ["9", "Nobody"]])
      #expect(update.numberRecordsFailed == 1)
      #expect(try await harness.results(update, .failed).text.contains("NOT_FOUND"))

      let upsert = try await run(.upsert, key: "id", ["id", "name"], [["1", "Lovelace"], ["5", "Edsger"]])
      #expect(upsert.numberRecordsFailed == 0)

      let delete = try await run(.delete, ["id"], [["4"], ["8"]])
      #expect(delete.numberRecordsFailed == 1)
      #expect(try names() == ["1:Lovelace", "2:Hopper", "5:Edsger"])
    }
  }
}
