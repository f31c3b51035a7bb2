import BulkCore
import BulkPostgres
import BulkTestSupport
import Foundation
import Synchronization
import Testing

/// A whole-table export (a query job without a query) of a large plain table reads its block
/// ranges on two connections at once, in one snapshot: every row exactly once, both connections
/// busy even when the live rows sit in the table's last blocks, and a failure of either is the
/// query's.
@Suite("Whole-table exports on two connections")
struct WholeTableExportTests {
  static let rows = 40_000
  /// The rows of `tail_live`.
  static let live = 30_001 ... 40_000

  /// The tenant of a new schema holding `wide` (`rows` rows of about 120 bytes, about 5.5 MiB, in
  /// `id` order on disk), a view of it, and `tail_live`, the same with only its last quarter of
  /// rows left; and a warehouse that reads tables of two ranges of 256 KiB or more on two
  /// connections.
  static func schema() async throws -> (warehouse: PostgresWarehouse, tenant: Tenant) {
    let schema = try await PostgresTestSchema.make(
      """
      CREATE TABLE wide (id int PRIMARY KEY, pad text NOT NULL);
      INSERT INTO wide SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, \(Self.rows)) g;
      CREATE VIEW wide_view AS SELECT * FROM wide;
      CREATE TABLE tail_live (id int PRIMARY KEY, pad text NOT NULL) WITH (autovacuum_enabled = false);
      INSERT INTO tail_live SELECT * FROM wide;
      DELETE FROM tail_live WHERE id <= \(Self.live.lowerBound - 1);
      """
    )
    let tenant = Tenant(id: "tenant-\(schema.name)", schema: schema.name)
    return (schema.warehouse(poolSize: 2, wholeTableRangeBytes: 256 << 10), tenant)
  }

  static func request(_ object: String, wholeTable: Bool = true) -> QueryRequest {
    QueryRequest(
      jobID: "job-\(UUID().uuidString)",
      sql: JobSpec.wholeObjectQuery(object),
      output: .csv(delimiter: UInt8(ascii: ",")),
      timeout: .seconds(60),
      cancellation: QueryCancellation(),
      wholeTable: wholeTable ? object : nil
    )
  }

  /// Collects the ids of the rows it is given. The batch that starts with the table's first live
  /// row (`first`) waits until a batch from another connection has come (at most `patience`): a
  /// read on one connection never delivers one while it waits, and notes that it did not meet one.
  final class MeetingSink: QueryRowSink {
    private struct State {
      var ids: [Int] = []
      var met: Bool?
    }

    private let state = Mutex(State())
    private let otherBatch = DispatchSemaphore(value: 0)
    private let first: Int
    private let patience: DispatchTime

    init(first: Int = 1, patience: Duration = .seconds(20)) {
      self.first = first
      self.patience = .now() + .milliseconds(Int(patience.components.seconds * 1000))
    }

    var ids: [Int] { self.state.withLock { $0.ids } }
    /// Whether the batch starting with `first` met a batch of the other connection; `nil` when it
    /// never came.
    var met: Bool? { self.state.withLock { $0.met } }

    func columns(_ columns: [QueryColumn]) throws {}

    func rows(_ batch: QueryRows) throws {
      guard case .csv(let bytes, let starts) = batch else { return }
      let ids = starts.map { start in
        Int(String(decoding: bytes[start...].prefix { $0 != UInt8(ascii: ",") }, as: UTF8.self)) ?? -1
      }
      self.state.withLock { $0.ids += ids }
      if ids.first == self.first {
        let met = self.otherBatch.wait(timeout: self.patience) == .success
        self.state.withLock { $0.met = met }
      } else {
        self.otherBatch.signal()
      }
    }
  }

  @Test("a large table is read on two connections at once, and every row comes exactly once")
  func twoConnections() async throws {
    let (warehouse, tenant) = try await Self.schema()
    defer { warehouse.shutdown() }
    let sink = MeetingSink()
    let count = try await warehouse.export(Self.request("wide"), tenant: tenant, into: sink)
    #expect(count == Int64(Self.rows))
    #expect(sink.met == true)
    #expect(sink.ids.sorted() == Array(1 ... Self.rows))
  }

  @Test("a table whose live rows are all in its last blocks keeps both connections reading them")
  func liveRowsAtTheEnd() async throws {
    let (warehouse, tenant) = try await Self.schema()
    defer { warehouse.shutdown() }
    let sink = MeetingSink(first: Self.live.lowerBound)
    let count = try await warehouse.export(Self.request("tail_live"), tenant: tenant, into: sink)
    #expect(count == Int64(Self.live.count))
    #expect(sink.met == true)
    #expect(sink.ids.sorted() == Array(Self.live))
  }

  @Test("the same statement not marked as a whole-table read, and a view, are read with one statement")
  func oneStatement() async throws {
    let (warehouse, tenant) = try await Self.schema()
    defer { warehouse.shutdown() }
    for request in [Self.request("wide", wholeTable: false), Self.request("wide_view")] {
      let sink = MeetingSink(patience: .milliseconds(300))
      let count = try await warehouse.export(request, tenant: tenant, into: sink)
      #expect(count == Int64(Self.rows))
      #expect(sink.met == false)
      #expect(sink.ids == Array(1 ... Self.rows))
    }
  }

  /// Fails every batch but the one starting with the first row.
  final class FailingSink: QueryRowSink {
    struct Refused: Error {}

    func columns(_ columns: [QueryColumn]) throws {}

    func rows(_ batch: QueryRows) throws {
      guard case .csv(let bytes, let starts) = batch, let start = starts.first else { return }
      if !bytes[start...].starts(with: Array("1,".utf8)) { throw Refused() }
    }
  }

  @Test("a connection's failure fails the query with its own error, and both connections end")
  func oneFails() async throws {
    let (warehouse, tenant) = try await Self.schema()
    defer { warehouse.shutdown() }
    await #expect(throws: FailingSink.Refused.self) {
      try await warehouse.export(Self.request("wide"), tenant: tenant, into: FailingSink())
    }
    // Both connections came back to the pool: a second read on two connections gets them again.
    let sink = MeetingSink()
    _ = try await warehouse.export(Self.request("wide"), tenant: tenant, into: sink)
    #expect(sink.met == true)
  }
}
