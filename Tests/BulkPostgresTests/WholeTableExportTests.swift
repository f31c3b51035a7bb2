import BulkCore
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// A whole-table export (a query job without a query) of a large plain table reads the two
/// halves of its blocks on two connections at once, in one snapshot: every row exactly once,
/// and the parts' failures are the query's.
@Suite("Whole-table exports in two parts")
struct WholeTableExportTests {
  static let rows = 40_000

  /// A schema holding `wide` (`rows` rows of about 120 bytes, about 5.5 MiB, in `id` order on
  /// disk) and a view of it, and a warehouse that splits tables of two parts of 256 KiB.
  static func schema() async throws -> (schema: PostgresTestSchema, warehouse: PostgresWarehouse, tenant: Tenant) {
    let schema = try await PostgresTestSchema.make(
      """
      CREATE TABLE wide (id int PRIMARY KEY, pad text NOT NULL);
      INSERT INTO wide SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, \(Self.rows)) g;
      CREATE VIEW wide_view AS SELECT * FROM wide;
      """
    )
    let warehouse = PostgresWarehouse(
      url: schema.cluster.url(),
      poolSize: 2,
      wholeTablePartBytes: 256 << 10,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    return (schema, warehouse, Tenant(id: "tenant-\(schema.name)", schema: schema.name))
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

  /// Collects the ids of the rows it is given. The batch that holds the table's first row waits
  /// until a batch of another part has come (at most `patience`): a read in one part never
  /// delivers one while it waits, and notes that it did not meet one.
  final class MeetingSink: QueryRowSink {
    private struct State {
      var ids: [Int] = []
      var batches = 0
      var met: Bool?
    }

    private let state = Mutex(State())
    private let otherBatch = DispatchSemaphore(value: 0)
    private let patience: DispatchTime

    init(patience: Duration = .seconds(20)) {
      self.patience = .now() + .milliseconds(Int(patience.components.seconds * 1000))
    }

    var ids: [Int] { self.state.withLock { $0.ids } }
    /// Whether the first part's first batch met a batch of the other part; `nil` when it never came.
    var met: Bool? { self.state.withLock { $0.met } }

    func columns(_ columns: [QueryColumn]) throws {}

    func rows(_ batch: QueryRows) throws {
      guard case .csv(let bytes, let starts) = batch else { return }
      let ids = starts.map { start in
        Int(String(decoding: bytes[start...].prefix { $0 != UInt8(ascii: ",") }, as: UTF8.self)) ?? -1
      }
      self.state.withLock {
        $0.ids += ids
        $0.batches += 1
      }
      if ids.first == 1 {
        let met = self.otherBatch.wait(timeout: self.patience) == .success
        self.state.withLock { $0.met = met }
      } else {
        self.otherBatch.signal()
      }
    }
  }

  @Test("a large table's two halves are read at once, and every row comes exactly once")
  func twoParts() async throws {
    let (_, warehouse, tenant) = try await Self.schema()
    defer { warehouse.shutdown() }
    let sink = MeetingSink()
    let count = try await warehouse.export(Self.request("wide"), tenant: tenant, into: sink)
    #expect(count == Int64(Self.rows))
    #expect(sink.met == true)
    #expect(sink.ids.sorted() == Array(1 ... Self.rows))
  }

  @Test("the same statement not marked as a whole-table read, and a view, are read in one part")
  func onePart() async throws {
    let (_, warehouse, tenant) = try await Self.schema()
    defer { warehouse.shutdown() }
    for request in [Self.request("wide", wholeTable: false), Self.request("wide_view")] {
      let sink = MeetingSink(patience: .milliseconds(300))
      let count = try await warehouse.export(request, tenant: tenant, into: sink)
      #expect(count == Int64(Self.rows))
      #expect(sink.met == false)
      #expect(sink.ids == Array(1 ... Self.rows))
    }
  }

  /// Fails the first batch of the second part.
  final class FailingSink: QueryRowSink {
    struct Refused: Error {}

    func columns(_ columns: [QueryColumn]) throws {}

    func rows(_ batch: QueryRows) throws {
      guard case .csv(let bytes, let starts) = batch, let start = starts.first else { return }
      if !bytes[start...].starts(with: Array("1,".utf8)) { throw Refused() }
    }
  }

  @Test("a part that fails fails the query with its own error, and both parts end")
  func partFails() async throws {
    let (_, warehouse, tenant) = try await Self.schema()
    defer { warehouse.shutdown() }
    await #expect(throws: FailingSink.Refused.self) {
      try await warehouse.export(Self.request("wide"), tenant: tenant, into: FailingSink())
    }
    // Both connections came back to the pool: a second read in two parts gets them again.
    let sink = MeetingSink()
    _ = try await warehouse.export(Self.request("wide"), tenant: tenant, into: sink)
    #expect(sink.met == true)
  }
}
