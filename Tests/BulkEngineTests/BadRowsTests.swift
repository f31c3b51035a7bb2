import BulkCore
import BulkEngine
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging
import Testing

/// A 10,000-record file with 1 % bad rows, on both warehouses: exactly those rows fail, with
/// their reasons, and everything else loads.
@Suite("One percent bad rows")
struct BadRowsTests {
  enum Kind: String, CaseIterable, Sendable {
    case sqlite, postgres
  }

  static let rows = 10_000

  /// The record numbers that are bad, and the code each must fail with.
  static func badRecords() -> [Int: String] {
    var bad: [Int: String] = [:]
    for record in stride(from: 50, through: rows, by: 100) {
      switch (record / 100) % 3 {
      case 0: bad[record] = "INVALID_VALUE"
      case 1: bad[record] = "NOT_NULL"
      default: bad[record] = "DUPLICATE_KEY"
      }
    }
    return bad
  }

  static func csv(_ bad: [Int: String]) -> String {
    var text = "id,name,amount\n"
    for record in 1 ... rows {
      switch bad[record] {
      case "INVALID_VALUE": text += "\(record),name \(record),not-a-number\n"
      case "NOT_NULL": text += "\(record),,\(record).25\n"
      // The key of the record before, which is in the same chunk: chunks run in any order, the
      // records of one chunk in upload order.
      case "DUPLICATE_KEY": text += "\(record - 1),duplicate of \(record - 1),1\n"
      default: text += "\(record),name \(record),\(record).25\n"
      }
    }
    return text
  }

  @Test("insert, then update with missing keys", arguments: Kind.allCases)
  func oneLoad(kind: Kind) async throws {
    try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 2)
      settings.chunkRecords = 1000
      let harness: EngineHarness
      var warehouse: PostgresWarehouse?
      let count: () throws -> String
      switch kind {
      case .sqlite:
        harness = try EngineHarness(directory: directory, settings: settings)
        try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount NUMERIC)")
        count = { try harness.rows("SELECT count(*) FROM items").first?.first ?? "" }
      case .postgres:
        let postgres = try await PostgresTenant.make(
          "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, amount numeric);"
        )
        warehouse = postgres.warehouse
        harness = try postgres.harness(directory: directory, settings: settings)
        count = { try postgres.psql("SELECT count(*) FROM items").trimmingCharacters(in: .whitespacesAndNewlines) }
      }
      defer { warehouse?.shutdown() }

      let bad = Self.badRecords()
      let insert = try await harness.run(JobSpec(operation: .insert, object: "items"), csv: Self.csv(bad))
      #expect(insert.state == .jobComplete)
      #expect(insert.numberRecordsProcessed == Int64(Self.rows))
      #expect(insert.numberRecordsFailed == Int64(bad.count))
      #expect(try count() == String(Self.rows - bad.count))

      let failed = try await harness.results(insert, .failed)
      #expect(failed.records == Int64(bad.count))
      var seen: [Int: String] = [:]
      for line in failed.text.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: ",", maxSplits: 1)
        let record = Int(fields[0]) ?? -1
        let error = fields[1].hasPrefix("\"") ? fields[1].dropFirst() : fields[1]
        seen[record] = String(error.prefix { $0 != ":" })
      }
      #expect(seen == bad)
      #expect(try await harness.results(insert, .successful).records == Int64(Self.rows - bad.count))

      // An update where 1 % of the keys do not exist.
      var update = "id,name\n"
      for record in 1 ... 1000 {
        update += record % 100 == 0 ? "\(record + 1_000_000),ghost\n" : "\(record),renamed \(record)\n"
      }
      let updated = try await harness.run(JobSpec(operation: .update, object: "items"), csv: update)
      #expect(updated.state == .jobComplete)
      let missing = try await harness.results(updated, .failed)
      // The ghosts, and the keys whose rows the insert refused (a duplicate carried the key before).
      #expect(missing.records == 10 + Int64(bad.keys.filter { $0 <= 1000 }.count))
      #expect(missing.text.contains("NOT_FOUND: no row with id = 1000100"))
    }
  }
}
