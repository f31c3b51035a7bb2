import BulkCore
import BulkEngine
import BulkPostgres
import BulkTestSupport
import Foundation
import Synchronization
import Testing

/// Two engines, as two instances, on one PostgreSQL catalog, one storage and one PostgreSQL
/// warehouse: a job's chunks are shared between them, each run once.
@Suite("JobEngine: chunks shared between instances")
struct SharedChunksTests {
  static let table = "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);"

  /// - Parameter lease: short, so that instances join and take over soon; long enough where a
  ///   test needs a lease kept while its holder's heartbeat is slowed by a loaded machine.
  static func settings(chunkBudget: Int? = nil, lease: Duration = .seconds(1)) -> EngineSettings {
    var settings = EngineSettings(workers: 1)
    settings.chunkRecords = 5
    settings.chunkBudget = chunkBudget
    settings.leaseDuration = lease
    settings.retryDelay = .milliseconds(20)
    return settings
  }

  /// `count` records, the 4th of them refused by the table (no name).
  static func csv(_ count: Int) -> String {
    "id,name\n" + (1 ... count).map { $0 == 4 ? "4,\n" : "\($0),item \($0)\n" }.joined()
  }

  /// A catalog on a schema of its own in the test cluster.
  static func catalog() async throws -> PostgresJobCatalog {
    let url = try await PostgresCluster.shared().url()
    let schema = "shared_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    return try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(with: Result { try PostgresJobCatalog(url: url, schema: schema, poolSize: 4) })
      }
    }
  }

  /// An instance: its own folder, the shared catalog, storage and warehouse.
  static func instance(
    _ directory: String,
    _ name: String,
    postgres: PostgresTenant,
    catalog: PostgresJobCatalog,
    storage: FileJobStorage,
    settings: EngineSettings,
    warehouse: ((any Warehouse) -> any Warehouse)? = nil
  ) throws -> EngineHarness {
    let folder = "\(directory)/\(name)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return try EngineHarness(
      directory: folder,
      settings: settings,
      tenant: postgres.tenant,
      base: postgres.warehouse,
      warehouse: warehouse,
      catalogWrapping: { _ in catalog },
      storage: storage
    )
  }

  /// An instance whose chunks wait at a gate of the warehouse until it is opened.
  static func gatedInstance(
    _ directory: String,
    postgres: PostgresTenant,
    catalog: PostgresJobCatalog,
    storage: FileJobStorage,
    settings: EngineSettings
  ) throws -> (EngineHarness, GatedWarehouse) {
    let gate = Mutex<GatedWarehouse?>(nil)
    let harness = try Self.instance(
      directory, "a", postgres: postgres, catalog: catalog, storage: storage, settings: settings,
      warehouse: { base in
        let gated = GatedWarehouse(base, gatedFrom: 0)
        gate.withLock { $0 = gated }
        return gated
      }
    )
    return (harness, try #require(gate.withLock { $0 }))
  }

  /// Returns once `condition` holds, looking every 20 ms, for at most `seconds`.
  static func eventually(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try await !condition() {
      guard Date() < deadline else { throw BulkError(code: .internal, message: "never: \(what)") }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  @Test("an instance that did not lead the job runs the chunks the leader has not claimed; every record applied once")
  func spread() async throws {
    let postgres = try await PostgresTenant.make(Self.table)
    defer { postgres.warehouse.shutdown() }
    let catalog = try await Self.catalog()
    defer { catalog.shutdown() }
    try await withTemporaryDirectory { directory in
      let storage = try FileJobStorage(stagingDirectory: "\(directory)/staging", resultsDirectory: "\(directory)/results")
      // The leader's first chunk waits at the gate until the other instance has run some; its
      // lease must outlast the wait however slow a loaded machine makes the leader's heartbeat
      // (8 s did not, in CI), or the other instance rightly takes the chunk over.
      let (leader, gated) = try Self.gatedInstance(
        directory, postgres: postgres, catalog: catalog, storage: storage, settings: Self.settings(lease: .seconds(300))
      )
      let helper = try Self.instance(directory, "b", postgres: postgres, catalog: catalog, storage: storage, settings: Self.settings())
      let leading = Task { try await leader.engine.run() }
      defer { leading.cancel() }

      let job = try await leader.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv(60).utf8))])
      var arrivals = gated.arrived.makeAsyncIterator()
      let held = await arrivals.next()
      // The other instance starts once the leader holds a chunk, and joins the job.
      let helping = Task { try await helper.engine.run() }
      defer { helping.cancel() }
      try await Self.eventually("the other instance finished a chunk") {
        try await catalog.finishedChunks(jobID: job.id, tenantID: job.tenantID).contains { $0.holder == helper.engine.instanceID }
      }
      gated.open()
      let final = try await leader.finished(job)

      #expect(final.state == .jobComplete)
      #expect(final.numberRecordsProcessed == 60)
      #expect(final.numberRecordsFailed == 1)
      #expect(final.numberChunks == 12)
      #expect(final.numberChunksCompleted == 12)
      let finished = try await catalog.finishedChunks(jobID: job.id, tenantID: job.tenantID)
      #expect(finished.map(\.index) == Array(0 ..< 12))
      #expect(Set(finished.map(\.holder)) == [leader.engine.instanceID, helper.engine.instanceID])
      #expect(finished.first { $0.index == held }?.holder == leader.engine.instanceID)
      #expect(finished.reduce(0) { $0 + $1.tally.processed } == 60)
      #expect(try postgres.psql("SELECT count(*), count(DISTINCT id) FROM items") == "59|59\n")
      let successful = try await leader.results(final, .successful)
      #expect(successful.records == 59)
      let failed = try await leader.results(final, .failed)
      #expect(failed.records == 1)
      #expect(failed.text.contains("NOT_NULL"))
    }
  }

  @Test("a chunk whose instance died before finishing it is run by the leader once its lease expires")
  func orphanedChunk() async throws {
    let postgres = try await PostgresTenant.make(Self.table)
    defer { postgres.warehouse.shutdown() }
    let catalog = try await Self.catalog()
    defer { catalog.shutdown() }
    try await withTemporaryDirectory { directory in
      let storage = try FileJobStorage(stagingDirectory: "\(directory)/staging", resultsDirectory: "\(directory)/results")
      // One chunk cut at a time: chunk 1 is cut only after chunk 0 is through the gate.
      let (leader, gated) = try Self.gatedInstance(
        directory, postgres: postgres, catalog: catalog, storage: storage, settings: Self.settings(chunkBudget: 1)
      )
      let engine = Task { try await leader.engine.run() }
      defer { engine.cancel() }
      let job = try await leader.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv(20).utf8))])
      var arrivals = gated.arrived.makeAsyncIterator()
      #expect(await arrivals.next() == 0)
      // Another instance claims chunk 1 and dies with it: its lease runs out in a second.
      guard
        case .granted = try await catalog.claimChunk(
          1, jobID: job.id, tenantID: job.tenantID, holder: "died", for: .seconds(1), now: Date()
        )
      else {
        Issue.record("the dying instance's claim was refused")
        return
      }
      gated.open()
      let final = try await leader.finished(job)

      #expect(final.state == .jobComplete)
      #expect(final.numberRecordsProcessed == 20)
      let finished = try await catalog.finishedChunks(jobID: job.id, tenantID: job.tenantID)
      #expect(finished.map(\.index) == [0, 1, 2, 3])
      #expect(finished.allSatisfy { $0.holder == leader.engine.instanceID })
      #expect(try postgres.psql("SELECT count(*) FROM items") == "19\n")
      #expect(try await leader.results(final, .successful).records == 19)
    }
  }

  @Test("a job aborted through another instance stops its leader: no chunk starts after, every record is in one result set")
  func abortElsewhere() async throws {
    let postgres = try await PostgresTenant.make(Self.table)
    defer { postgres.warehouse.shutdown() }
    let catalog = try await Self.catalog()
    defer { catalog.shutdown() }
    try await withTemporaryDirectory { directory in
      let storage = try FileJobStorage(stagingDirectory: "\(directory)/staging", resultsDirectory: "\(directory)/results")
      let (leader, gated) = try Self.gatedInstance(
        directory, postgres: postgres, catalog: catalog, storage: storage, settings: Self.settings(chunkBudget: 1)
      )
      let other = try Self.instance(directory, "b", postgres: postgres, catalog: catalog, storage: storage, settings: Self.settings())
      let engine = Task { try await leader.engine.run() }
      defer { engine.cancel() }
      let job = try await leader.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv(20).utf8))])
      var arrivals = gated.arrived.makeAsyncIterator()
      #expect(await arrivals.next() == 0)
      _ = try await other.service.updateState(id: job.id, to: .aborted, tenant: other.tenant)
      gated.open()
      await leader.engine.waitUntilIdle(jobID: job.id)
      let final = try #require(try await catalog.job(id: job.id, tenantID: job.tenantID))

      #expect(final.state == .aborted)
      // Chunk 0 was being applied: it commits; the others never start.
      #expect(try postgres.psql("SELECT count(*) FROM items") == "4\n")
      let successful = try await leader.results(final, .successful).records
      let failed = try await leader.results(final, .failed).records
      let unprocessed = try await leader.results(final, .unprocessed).records
      #expect(successful == 4)
      #expect(failed == 1)
      #expect(unprocessed == 15)
    }
  }
}
