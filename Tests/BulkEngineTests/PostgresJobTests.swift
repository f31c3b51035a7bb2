import BulkCore
import BulkEngine
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Whole jobs through the engine into a real PostgreSQL, each test in its own schema.
@Suite("Jobs on PostgreSQL")
struct PostgresJobTests {
  static let customers = """
    CREATE TABLE customers (
      id bigint PRIMARY KEY,
      name text NOT NULL,
      email text UNIQUE,
      amount numeric(12,2)
    );
    """

  static func settings(chunkRecords: Int = 4) -> EngineSettings {
    var settings = EngineSettings(workers: 2)
    settings.chunkRecords = chunkRecords
    settings.retryDelay = .milliseconds(20)
    settings.warehouseAttempts = 12
    return settings
  }

  @Test("insert, upsert and delete jobs: rows and results match what PostgreSQL holds")
  func operations() async throws {
    let postgres = try await PostgresTenant.make(Self.customers)
    defer { postgres.warehouse.shutdown() }
    try await withTemporaryDirectory { directory in
      let harness = try postgres.harness(directory: directory, settings: Self.settings())
      var csv = "id,name,email,amount\n"
      for index in 1 ... 20 {
        csv += "\(index),\"Name, \(index)\",user\(index)@example.com,\(index).50\n"
      }
      csv += "3,Duplicate,dup@example.com,1\n21,,nameless@example.com,1\n22,Bad,bad@example.com,lots\n"
      let insert = try await harness.run(JobSpec(operation: .insert, object: "customers"), csv: csv)
      #expect(insert.state == .jobComplete)
      #expect(insert.numberRecordsProcessed == 23)
      #expect(insert.numberRecordsFailed == 3)
      #expect(try postgres.psql("SELECT count(*), sum(amount) FROM customers") == "20|220.00\n")
      let failed = try await harness.results(insert, .failed).text.split(separator: "\n")
      #expect(failed.count == 4)
      #expect(failed[1].hasPrefix("21,\"DUPLICATE_KEY: duplicate key value violates unique constraint"))
      #expect(failed[2].hasPrefix("22,\"NOT_NULL: null value in column"))
      #expect(
        failed[3].hasPrefix("23,\"INVALID_VALUE: column amount (numeric(12,2)): 'lots' is not a decimal number\"")
      )

      let upsert = try await harness.run(
        JobSpec(operation: .upsert, object: "customers", externalIDField: "id"),
        csv: "id,name\n1,Updated\n99,New\n"
      )
      #expect(upsert.numberRecordsFailed == 0)
      #expect(try await harness.results(upsert, .successful).text.contains("1,false,1,Updated"))
      #expect(try postgres.psql("SELECT name FROM customers WHERE id = 1") == "Updated\n")

      let delete = try await harness.run(JobSpec(operation: .delete, object: "customers"), csv: "id\n2\n12345\n")
      #expect(delete.numberRecordsFailed == 1)
      #expect(try await harness.results(delete, .failed).text.contains("NOT_FOUND"))
      #expect(try postgres.psql("SELECT count(*) FROM customers WHERE id = 2") == "0\n")
    }
  }

  @Test("PostgreSQL stopped in the middle of a job: chunks are retried and the job completes without duplicates")
  func warehouseRestart() async throws {
    let cluster = try await PostgresCluster.launch()
    defer { cluster.remove() }
    let postgres = try await PostgresTenant.make(Self.customers, cluster: cluster)
    defer { postgres.warehouse.shutdown() }
    try await withTemporaryDirectory { directory in
      let gate = Mutex<GatedWarehouse?>(nil)
      let harness = try postgres.harness(directory: directory, settings: Self.settings(chunkRecords: 5)) {
        let gated = GatedWarehouse($0, gatedFrom: 2)
        gate.withLock { $0 = gated }
        return gated
      }
      let gated = try #require(gate.withLock { $0 })
      let csv = "id,name\n" + (1 ... 20).map { "\($0),n\($0)" }.joined(separator: "\n") + "\n"
      let job = try await harness.submit(JobSpec(operation: .insert, object: "customers"), [.bytes(Data(csv.utf8))])
      var arrivals = gated.arrived.makeAsyncIterator()
      // Two workers: chunk 2 or chunk 3 reaches the gate first.
      #expect((2 ... 3).contains(await arrivals.next() ?? 0))
      // The database goes away before the gated chunks reach it.
      try cluster.stop()
      gated.open()
      // The engine retries against the stopped server; bring it back.
      try cluster.start()
      let final = try await harness.finished(job)
      #expect(final.state == .jobComplete, "\(final.errorMessage)")
      #expect(final.numberRecordsProcessed == 20)
      #expect(try postgres.psql("SELECT count(*), count(DISTINCT id) FROM customers") == "20|20\n")
    }
  }

  @Test("JSON and record-batch uploads load into PostgreSQL too, bad records failing alone")
  func jsonAndRecordBatches() async throws {
    let postgres = try await PostgresTenant.make(Self.customers)
    defer { postgres.warehouse.shutdown() }
    try await withTemporaryDirectory { directory in
      let harness = try postgres.harness(directory: directory, settings: Self.settings())
      let json = """
        {"id": 1, "name": "Ada", "amount": 12.5}
        {"id": 2, "name": "Grace", "amount": "a lot"}
        {"id": 3, "name": null}
        {"id": 4, "name": "Alan", "amount": 7}
        """
      let fromJSON = try await harness.finished(
        try await harness.submit(
          JobSpec(operation: .insert, object: "customers", contentType: .json),
          [.bytes(Data(json.utf8))]
        )
      )
      #expect(fromJSON.state == .jobComplete)
      #expect(fromJSON.numberRecordsFailed == 2)
      #expect(try postgres.psql("SELECT id, amount FROM customers ORDER BY id") == "1|12.50\n4|7.00\n")

      let rows: [[FieldValue]] = [
        [.text("10"), .text("Ten")], [.text("11"), .null], [.text("12"), .text("Twelve")],
      ]
      let typed = try await harness.finished(
        try await harness.submit(
          JobSpec(operation: .insert, object: "customers", contentType: .recordBatch),
          [.records(columns: ["id", "name"], rows: rows)]
        )
      )
      #expect(typed.state == .jobComplete)
      #expect(typed.numberRecordsFailed == 1)
      #expect(try await harness.results(typed, .failed).text.contains("NOT_NULL"))
      #expect(try postgres.psql("SELECT count(*) FROM customers WHERE id >= 10") == "2\n")
    }
  }
}
