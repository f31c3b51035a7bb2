import BulkCore
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@Suite("PostgresConnectionPool")
struct PostgresConnectionPoolTests {
  @Test("no more bodies run at once than there are connections, and every waiter is served")
  func boundedConcurrency() async throws {
    let cluster = try await PostgresCluster.shared()
    let pool = PostgresConnectionPool(url: cluster.url(), size: 3)
    defer { pool.shutdown() }
    let counters = Counters()
    let backends = try await withThrowingTaskGroup(of: String.self) { group in
      for _ in 0 ..< 24 {
        group.addTask {
          try await pool.withConnection { connection in
            counters.state.withLock { state in
              state.running += 1
              state.most = max(state.most, state.running)
            }
            defer { counters.state.withLock { $0.running -= 1 } }
            let rows = try connection.query("SELECT pg_backend_pid()::text")
            return rows[0][0] ?? ""
          }
        }
      }
      return try await group.reduce(into: Set<String>()) { $0.insert($1) }
    }
    #expect(counters.state.withLock { $0.most } <= 3)
    #expect(backends.count <= 3)
  }

  @Test("a transaction a body leaves open is rolled back before the next use")
  func noLeakedTransaction() async throws {
    let cluster = try await PostgresCluster.shared()
    let schema = try await TestSchema.make("CREATE TABLE t (id integer);")
    let pool = PostgresConnectionPool(url: cluster.url(), size: 1)
    defer { pool.shutdown() }
    let table = "\(schema.tenant.schema).t"
    try await pool.withConnection { connection in
      try connection.execute("BEGIN")
      try connection.execute("INSERT INTO \(table) VALUES ($1)", ["1"])
    }
    let inTransaction = try await pool.withConnection { connection in
      (connection.isInTransaction, try connection.query("SELECT count(*) FROM \(table)")[0][0])
    }
    #expect(inTransaction.0 == false)
    #expect(inTransaction.1 == "0")
  }

  @Test("a database created in the cluster is reached through its URL")
  func createdDatabase() async throws {
    let cluster = try await PostgresCluster.shared()
    let name = "db_\(UUID().uuidString.prefix(8).lowercased())"
    try cluster.createDatabase(name)
    let pool = PostgresConnectionPool(url: cluster.url(database: name), size: 1)
    defer { pool.shutdown() }
    #expect(try await pool.withConnection { try $0.query("SELECT current_database()")[0][0] } == name)
  }

  @Test("after shutdown, calls fail")
  func shutdown() async throws {
    let cluster = try await PostgresCluster.shared()
    let pool = PostgresConnectionPool(url: cluster.url(), size: 1)
    #expect(try await pool.withConnection { try $0.query("SELECT 1")[0][0] } == "1")
    pool.shutdown()
    await #expect(throws: PostgresError.self) {
      try await pool.withConnection { try $0.query("SELECT 1") }
    }
  }

  @Test("statement errors carry SQLSTATE, message and detail, and leave the connection usable")
  func statementErrors() async throws {
    let cluster = try await PostgresCluster.shared()
    let pool = PostgresConnectionPool(url: cluster.url(), size: 1)
    defer { pool.shutdown() }
    let error = await #expect(throws: PostgresError.self) {
      try await pool.withConnection { try $0.query("SELECT 1 / $1::integer", ["0"]) }
    }
    #expect(error?.sqlState == "22012")
    #expect(error?.message == "division by zero")
    #expect(error?.isConnectionFailure == false)
    #expect(try await pool.withConnection { try $0.query("SELECT $1::text || $2", ["a'b", nil]) } == [[nil]])
  }

  @Test("the database going away is a connection failure, and its return is used again")
  func connectionFailure() async throws {
    // A cluster of this test's own, so that stopping it disturbs no other test.
    let cluster = try await PostgresCluster.launch()
    defer { cluster.remove() }
    try cluster.psql("CREATE SCHEMA shop; CREATE TABLE shop.orders (id integer PRIMARY KEY);")
    let warehouse = PostgresWarehouse(url: cluster.url(), poolSize: 2, logger: Logger(label: "test"))
    defer { warehouse.shutdown() }
    let tenant = Tenant(id: "shop")
    let table = try #require(try await warehouse.describe(table: "orders", tenant: tenant))
    func work(_ chunk: Int) -> ChunkWork {
      ChunkWork(
        jobID: "job",
        chunk: chunk,
        operation: .insert,
        table: table,
        keyColumn: "",
        columns: ["id"],
        records: [ChunkRecord(number: 1, values: [.integer(Int64(chunk))])]
      )
    }
    #expect(try await warehouse.apply(work(0), tenant: tenant) == [.succeeded(created: true)])

    try cluster.stop()
    let error = await #expect(throws: PostgresError.self) {
      try await warehouse.apply(work(1), tenant: tenant)
    }
    #expect(error?.isConnectionFailure == true)

    try cluster.start()
    #expect(try await warehouse.apply(work(1), tenant: tenant) == [.succeeded(created: true)])
    #expect(try await warehouse.apply(work(2), tenant: tenant) == [.succeeded(created: true)])
    #expect(try cluster.psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM shop.orders") == "0,1,2\n")
  }
}

/// Bodies running now, and the most that ever ran at once.
private final class Counters: Sendable {
  let state = Mutex((running: 0, most: 0))
}
