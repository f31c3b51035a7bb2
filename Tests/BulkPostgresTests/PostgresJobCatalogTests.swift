import BulkCore
import BulkPostgres
import BulkTestSupport
import Foundation
import Synchronization
import Testing

@Suite("PostgresJobCatalog")
struct PostgresJobCatalogTests {
  static func job(_ id: String, tenant: String = "t", state: JobState = .open, at seconds: Double = 0) -> Job {
    Job(
      id: id,
      tenantID: tenant,
      state: state,
      operation: .upsert,
      object: "customers",
      contentType: .json,
      compression: .gzip,
      externalIDField: "email",
      columnDelimiter: "|",
      createdAt: Date(timeIntervalSince1970: 1_700_000_000 + seconds)
    )
  }

  /// A catalog schema name no other test uses.
  static func freshSchema() -> String {
    "c_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
  }

  /// Opens a catalog on `schema` off the Swift concurrency pool: opening blocks, and two opening
  /// at once wait for each other's migration lock.
  static func open(_ schema: String, poolSize: Int = 2) async throws -> PostgresJobCatalog {
    let url = try await PostgresCluster.shared().url()
    return try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(with: Result { try PostgresJobCatalog(url: url, schema: schema, poolSize: poolSize) })
      }
    }
  }

  /// A catalog on a schema of its own, shut down after `body`.
  static func withCatalog(_ body: (PostgresJobCatalog) async throws -> Void) async throws {
    let catalog = try await Self.open(Self.freshSchema())
    defer { catalog.shutdown() }
    try await body(catalog)
  }

  /// Two catalogs on one new schema, as two instances, shut down after `body`.
  static func withTwoInstances(
    poolSize: Int = 2,
    _ body: (PostgresJobCatalog, PostgresJobCatalog) async throws -> Void
  ) async throws {
    let schema = Self.freshSchema()
    let one = try await Self.open(schema, poolSize: poolSize)
    let two = try await Self.open(schema, poolSize: poolSize)
    defer {
      one.shutdown()
      two.shutdown()
    }
    try await body(one, two)
  }

  @Test("jobs survive reopening the catalog, every field intact")
  func durability() async throws {
    let schema = Self.freshSchema()
    var original = Self.job("bulk-job-a")
    original.numberRecordsProcessed = 7
    original.errorMessage = "it's \"quoted\"\nand multi-line ✓"
    original.updatedAt = Date(timeIntervalSince1970: 1_700_000_123.456789)
    do {
      let catalog = try await Self.open(schema)
      defer { catalog.shutdown() }
      guard case .inserted(let stored) = try await catalog.insert(original, idempotencyKey: nil, activeJobLimit: 10)
      else {
        Issue.record("not inserted")
        return
      }
      #expect(stored == original)
    }
    let reopened = try await Self.open(schema)
    defer { reopened.shutdown() }
    #expect(try await reopened.job(id: "bulk-job-a", tenantID: "t") == original)
    #expect(try await reopened.job(id: "bulk-job-a", tenantID: "other") == nil)
    #expect(try await reopened.schemaVersion() == 3)
  }

  @Test("an idempotency key returns the first job and its fingerprint")
  func idempotency() async throws {
    try await Self.withCatalog { catalog in
      let key = IdempotencyKey(requestID: "r1", fingerprint: "f1")
      _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: key, activeJobLimit: 10)
      let second = try await catalog.insert(Self.job("bulk-job-b"), idempotencyKey: key, activeJobLimit: 10)
      #expect(second == .existing(Self.job("bulk-job-a"), fingerprint: "f1"))
      // The same request id is another tenant's own.
      let other = try await catalog.insert(Self.job("bulk-job-c", tenant: "u"), idempotencyKey: key, activeJobLimit: 10)
      #expect(other == .inserted(Self.job("bulk-job-c", tenant: "u")))
    }
  }

  @Test("the active job limit counts unfinished jobs of the tenant only")
  func activeLimit() async throws {
    try await Self.withCatalog { catalog in
      _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 2)
      _ = try await catalog.insert(Self.job("bulk-job-b", state: .aborted), idempotencyKey: nil, activeJobLimit: 2)
      _ = try await catalog.insert(Self.job("bulk-job-c"), idempotencyKey: nil, activeJobLimit: 2)
      #expect(
        try await catalog.insert(Self.job("bulk-job-d"), idempotencyKey: nil, activeJobLimit: 2)
          == .activeJobLimitReached
      )
      #expect(
        try await catalog.insert(Self.job("bulk-job-e", tenant: "u"), idempotencyKey: nil, activeJobLimit: 2)
          != .activeJobLimitReached
      )
    }
  }

  @Test("listing pages newest first, filtered by state, scoped by tenant")
  func listing() async throws {
    try await Self.withCatalog { catalog in
      for index in 0 ..< 7 {
        let state: JobState = index % 2 == 0 ? .open : .aborted
        _ = try await catalog.insert(
          Self.job("bulk-job-\(index)", state: state, at: Double(index)),
          idempotencyKey: nil,
          activeJobLimit: 100
        )
        _ = try await catalog.insert(
          Self.job("bulk-job-u\(index)", tenant: "u"),
          idempotencyKey: nil,
          activeJobLimit: 100
        )
      }
      var ids: [String] = []
      var cursor: Int64?
      repeat {
        let page = try await catalog.jobs(tenantID: "t", state: nil, limit: 3, after: cursor)
        #expect(page.jobs.count <= 3)
        ids += page.jobs.map(\.id)
        cursor = page.nextCursor
      } while cursor != nil
      #expect(ids == (0 ..< 7).reversed().map { "bulk-job-\($0)" })

      let open = try await catalog.jobs(tenantID: "t", state: .open, limit: 10, after: nil)
      #expect(open.jobs.map(\.id) == ["bulk-job-6", "bulk-job-4", "bulk-job-2", "bulk-job-0"])
      #expect(open.nextCursor == nil)
      let exact = try await catalog.jobs(tenantID: "t", state: .aborted, limit: 3, after: nil)
      #expect(exact.jobs.count == 3)
      #expect(exact.nextCursor == nil)
    }
  }

  @Test("jobs by state across tenants, oldest first, and counts by state")
  func byState() async throws {
    try await Self.withCatalog { catalog in
      _ = try await catalog.insert(Self.job("bulk-job-a", at: 0), idempotencyKey: nil, activeJobLimit: 10)
      _ = try await catalog.insert(Self.job("bulk-job-b", tenant: "u", at: 10), idempotencyKey: nil, activeJobLimit: 10)
      _ = try await catalog.insert(
        Self.job("bulk-job-c", state: .aborted, at: 5),
        idempotencyKey: nil,
        activeJobLimit: 10
      )
      let open = try await catalog.jobs(states: [.open, .inProgress], createdBefore: nil)
      #expect(open.map(\.id) == ["bulk-job-a", "bulk-job-b"])
      let early = try await catalog.jobs(
        states: [.open, .aborted],
        createdBefore: Date(timeIntervalSince1970: 1_700_000_006)
      )
      #expect(early.map(\.id) == ["bulk-job-a", "bulk-job-c"])
      #expect(try await catalog.jobs(states: [], createdBefore: nil).isEmpty)
      #expect(try await catalog.countsByState() == [.open: 2, .aborted: 1])
    }
  }

  @Test("update is atomic: a refusing change stores nothing")
  func update() async throws {
    try await Self.withCatalog { catalog in
      _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 10)
      let updated = try await catalog.update(id: "bulk-job-a", tenantID: "t") { job throws(BulkError) in
        job.state = .uploadComplete
      }
      #expect(updated.state == .uploadComplete)
      await #expect(throws: BulkError.failedPrecondition("no")) {
        try await catalog.update(id: "bulk-job-a", tenantID: "t") { job throws(BulkError) in
          job.state = .failed
          throw .failedPrecondition("no")
        }
      }
      #expect(try await catalog.job(id: "bulk-job-a", tenantID: "t")?.state == .uploadComplete)
      await #expect(throws: BulkError.jobNotFound("bulk-job-a")) {
        try await catalog.update(id: "bulk-job-a", tenantID: "u") { _ throws(BulkError) in }
      }
    }
  }

  @Test("delete removes the job only when the check passes")
  func delete() async throws {
    try await Self.withCatalog { catalog in
      _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 10)
      await #expect(throws: BulkError.failedPrecondition("running")) {
        try await catalog.delete(id: "bulk-job-a", tenantID: "t") { _ throws(BulkError) in
          throw .failedPrecondition("running")
        }
      }
      await #expect(throws: BulkError.jobNotFound("bulk-job-a")) {
        try await catalog.delete(id: "bulk-job-a", tenantID: "u") { _ throws(BulkError) in }
      }
      try await catalog.delete(id: "bulk-job-a", tenantID: "t") { _ throws(BulkError) in }
      #expect(try await catalog.job(id: "bulk-job-a", tenantID: "t") == nil)
    }
  }

  @Test("leases: another holder's live lease is refused, an expired one taken over; renew and release need the holder")
  func leases() async throws {
    try await Self.withCatalog { catalog in
      _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 10)
      let target = LeaseTarget.job(id: "bulk-job-a", tenantID: "t")
      let now = Date(timeIntervalSince1970: 1_800_000_000)
      let first = try #require(try await catalog.claim(target, holder: "one", for: .seconds(30), now: now))
      #expect(first == JobLease(target: target, holder: "one", expiresAt: now.addingTimeInterval(30)))
      #expect(try await catalog.lease(on: target) == first)
      // Another holder waits for the lease to expire; its holder extends it.
      #expect(try await catalog.claim(target, holder: "two", for: .seconds(30), now: now.addingTimeInterval(29)) == nil)
      let extended = try await catalog.claim(target, holder: "one", for: .seconds(30), now: now.addingTimeInterval(10))
      #expect(extended?.expiresAt == now.addingTimeInterval(40))
      let later = now.addingTimeInterval(40)
      let second = try #require(try await catalog.claim(target, holder: "two", for: .seconds(30), now: later))
      #expect(try await catalog.lease(on: target)?.holder == "two")
      #expect(try await catalog.renew(first, for: .seconds(60), now: later) == nil)
      try await catalog.release(first)
      #expect(try await catalog.lease(on: target) == second)
      let renewed = try await catalog.renew(second, for: .seconds(60), now: later)
      #expect(renewed?.expiresAt == later.addingTimeInterval(60))
      #expect(try await catalog.lease(on: target) == renewed)
      // A chunk's lease is apart from its job's.
      let chunk = LeaseTarget.chunk(jobID: "bulk-job-a", tenantID: "t", index: 3)
      #expect(try await catalog.lease(on: chunk) == nil)
      _ = try await catalog.claim(chunk, holder: "two", for: .seconds(5), now: later)
      try await catalog.release(second)
      #expect(try await catalog.lease(on: target) == nil)
      #expect(try await catalog.lease(on: chunk)?.holder == "two")
      // Deleting the job removes its leases.
      try await catalog.delete(id: "bulk-job-a", tenantID: "t") { _ throws(BulkError) in }
      #expect(try await catalog.lease(on: chunk) == nil)
    }
  }

  @Test("a catalog written by a newer server is refused")
  func newerSchema() async throws {
    let schema = Self.freshSchema()
    let catalog = try await Self.open(schema)
    catalog.shutdown()
    try await PostgresCluster.shared().psql("UPDATE \(schema).catalog_version SET version = 99")
    await #expect(
      throws: BulkError(
        code: .failedPrecondition,
        message: "catalog schema version 99 is newer than this server (3); upgrade the server"
      )
    ) {
      try await Self.open(schema)
    }
  }

  @Test("a login without CREATE on the database, given the schema (USAGE, CREATE), runs the catalog")
  func leastPrivilege() async throws {
    let cluster = try await PostgresCluster.shared()
    let schema = Self.freshSchema()
    let role = "r_" + schema
    try cluster.psql(
      """
      CREATE ROLE \(role) LOGIN PASSWORD 'catalog-password';
      CREATE SCHEMA \(schema);
      GRANT USAGE, CREATE ON SCHEMA \(schema) TO \(role);
      """
    )
    let url = "postgresql://\(role):catalog-password@127.0.0.1:\(cluster.port)/postgres"
    let catalog = try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(with: Result { try PostgresJobCatalog(url: url, schema: schema) })
      }
    }
    defer { catalog.shutdown() }
    _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 10)
    #expect(
      try await catalog.claim(.job(id: "bulk-job-a", tenantID: "t"), holder: "one", for: .seconds(1), now: Date())
        != nil
    )
    #expect(try await catalog.job(id: "bulk-job-a", tenantID: "t")?.state == .open)
  }

  @Test("a schema name that is not an identifier is refused")
  func badSchema() async throws {
    let url = try await PostgresCluster.shared().url()
    #expect(throws: BulkError.self) { try PostgresJobCatalog(url: url, schema: "x\"; DROP SCHEMA public; --") }
  }

  // MARK: Two instances on one schema

  @Test("two instances starting at once migrate once, and a re-open finds the version")
  func concurrentMigration() async throws {
    let schema = Self.freshSchema()
    async let first = Self.open(schema)
    async let second = Self.open(schema)
    let catalogs = try await [first, second]
    defer { catalogs.forEach { $0.shutdown() } }
    #expect(try await catalogs[0].schemaVersion() == 3)
    #expect(try await PostgresCluster.shared().psql("SELECT version FROM \(schema).catalog_version") == "3\n")
    let reopened = try await Self.open(schema)
    defer { reopened.shutdown() }
    #expect(try await reopened.schemaVersion() == 3)
  }

  @Test("concurrent claims of one target from two instances: exactly one wins")
  func concurrentClaims() async throws {
    try await Self.withTwoInstances(poolSize: 4) { (one: PostgresJobCatalog, two: PostgresJobCatalog) async throws in
      let now = Date(timeIntervalSince1970: 1_800_000_000)
      for round in 0 ..< 10 {
        let target = LeaseTarget.chunk(jobID: "bulk-job-a", tenantID: "t", index: round)
        let winners = try await withThrowingTaskGroup(of: String?.self) { group in
          for index in 0 ..< 8 {
            let catalog = index % 2 == 0 ? one : two
            group.addTask {
              try await catalog.claim(target, holder: "holder-\(index)", for: .seconds(30), now: now)?.holder
            }
          }
          return try await group.reduce(into: [String]()) { if let holder = $1 { $0.append(holder) } }
        }
        #expect(winners.count == 1)
        #expect(try await one.lease(on: target)?.holder == winners.first)
      }
    }
  }

  // MARK: Shared chunks

  @Test("a chunk is claimed by one instance while its job runs, recorded finished with its holder, and never claimed again")
  func chunkClaims() async throws {
    try await Self.withTwoInstances { (one: PostgresJobCatalog, two: PostgresJobCatalog) async throws in
      #expect(one.sharesWork)
      let now = Date(timeIntervalSince1970: 1_800_000_000)
      _ = try await one.insert(Self.job("bulk-job-a", state: .open), idempotencyKey: nil, activeJobLimit: 10)
      // Not running yet: no chunk starts.
      #expect(try await one.claimChunk(0, jobID: "bulk-job-a", tenantID: "t", holder: "i-1", for: .seconds(10), now: now) == .jobStopped)
      _ = try await one.update(id: "bulk-job-a", tenantID: "t") { (job: inout Job) throws(BulkError) in job.state = .inProgress }

      guard case .granted(let lease) = try await one.claimChunk(0, jobID: "bulk-job-a", tenantID: "t", holder: "i-1", for: .seconds(10), now: now)
      else {
        Issue.record("the first claim was not granted")
        return
      }
      #expect(try await two.claimChunk(0, jobID: "bulk-job-a", tenantID: "t", holder: "i-2", for: .seconds(10), now: now) == .heldElsewhere)
      #expect(try await two.chunkLeases(jobID: "bulk-job-a", tenantID: "t", now: now).map(\.holder) == ["i-1"])
      #expect(try await two.chunkLeases(jobID: "bulk-job-a", tenantID: "t", now: now.addingTimeInterval(10)).isEmpty)

      let tally = ChunkTally(processed: 50, failed: 2, total: 50, completed: true)
      try await one.finishChunk(lease, counts: tally)
      // Finished: not claimed again, even once the lease would have expired.
      #expect(try await two.claimChunk(0, jobID: "bulk-job-a", tenantID: "t", holder: "i-2", for: .seconds(10), now: now.addingTimeInterval(60)) == .finished)
      #expect(try await two.lease(on: lease.target) == nil)
      let finished = try await two.finishedChunks(jobID: "bulk-job-a", tenantID: "t")
      #expect(finished.map(\.index) == [0])
      #expect(finished.first?.holder == "i-1")
      #expect(finished.first?.tally == tally)

      // A second record of the same chunk (a lease lost to a pause) keeps the first.
      guard case .granted(let other) = try await two.claimChunk(1, jobID: "bulk-job-a", tenantID: "t", holder: "i-2", for: .seconds(10), now: now)
      else {
        Issue.record("chunk 1 was not granted")
        return
      }
      try await two.finishChunk(other, counts: tally)
      try await one.finishChunk(JobLease(target: other.target, holder: "i-1", expiresAt: now), counts: ChunkTally(processed: 1, failed: 1, total: 1, completed: false))
      #expect(try await one.finishedChunks(jobID: "bulk-job-a", tenantID: "t").map(\.holder) == ["i-1", "i-2"])

      // Aborted: no chunk starts; deleting the job removes its chunks.
      _ = try await one.update(id: "bulk-job-a", tenantID: "t") { (job: inout Job) throws(BulkError) in job.state = .aborted }
      #expect(try await two.claimChunk(2, jobID: "bulk-job-a", tenantID: "t", holder: "i-2", for: .seconds(10), now: now) == .jobStopped)
      try await one.delete(id: "bulk-job-a", tenantID: "t") { (_: Job) throws(BulkError) in }
      #expect(try await one.finishedChunks(jobID: "bulk-job-a", tenantID: "t").isEmpty)
    }
  }

  @Test("jobs to share come tenant by tenant: the tenant running the fewest chunks across instances first")
  func tenantTurns() async throws {
    try await Self.withCatalog { catalog in
      let now = Date(timeIntervalSince1970: 1_800_000_000)
      for (id, tenant, seconds) in [("bulk-job-a", "busy", 0.0), ("bulk-job-b", "busy", 1), ("bulk-job-c", "quiet", 2), ("bulk-job-d", "idle", 3)] {
        _ = try await catalog.insert(Self.job(id, tenant: tenant, state: .inProgress, at: seconds), idempotencyKey: nil, activeJobLimit: 10)
      }
      _ = try await catalog.insert(Self.job("bulk-job-e", tenant: "idle", state: .open, at: 4), idempotencyKey: nil, activeJobLimit: 10)
      for index in 0 ..< 3 {
        _ = try await catalog.claimChunk(index, jobID: "bulk-job-a", tenantID: "busy", holder: "i-1", for: .seconds(10), now: now)
      }
      _ = try await catalog.claimChunk(0, jobID: "bulk-job-c", tenantID: "quiet", holder: "i-2", for: .seconds(10), now: now)
      // An expired lease is not running.
      _ = try await catalog.claimChunk(0, jobID: "bulk-job-d", tenantID: "idle", holder: "i-3", for: .seconds(1), now: now.addingTimeInterval(-5))
      #expect(try await catalog.jobsToShare(now: now).map(\.id) == ["bulk-job-d", "bulk-job-c", "bulk-job-a", "bulk-job-b"])
    }
  }

  @Test("one reaper at a time: the reaper's lease is one instance's until it expires")
  func reaperLease() async throws {
    try await Self.withTwoInstances { (one: PostgresJobCatalog, two: PostgresJobCatalog) async throws in
      let now = Date(timeIntervalSince1970: 1_800_000_000)
      #expect(try await one.claim(.reaper, holder: "i-1", for: .seconds(10), now: now) != nil)
      #expect(try await two.claim(.reaper, holder: "i-2", for: .seconds(10), now: now.addingTimeInterval(5)) == nil)
      #expect(try await one.claim(.reaper, holder: "i-1", for: .seconds(10), now: now.addingTimeInterval(5)) != nil)
      #expect(try await two.claim(.reaper, holder: "i-2", for: .seconds(10), now: now.addingTimeInterval(15)) != nil)
      #expect(try await one.lease(on: .reaper)?.holder == "i-2")
    }
  }

  @Test("an expired lease is taken over by the other instance, and the first holder's renew then finds it lost")
  func takeover() async throws {
    try await Self.withTwoInstances { (one: PostgresJobCatalog, two: PostgresJobCatalog) async throws in
      let target = LeaseTarget.job(id: "bulk-job-a", tenantID: "t")
      let now = Date(timeIntervalSince1970: 1_800_000_000)
      let lease = try #require(try await one.claim(target, holder: "instance-1", for: .seconds(10), now: now))
      #expect(try await two.claim(target, holder: "instance-2", for: .seconds(10), now: now.addingTimeInterval(9)) == nil)
      let taken = try await two.claim(target, holder: "instance-2", for: .seconds(10), now: now.addingTimeInterval(10))
      #expect(taken?.holder == "instance-2")
      #expect(try await one.renew(lease, for: .seconds(10), now: now.addingTimeInterval(11)) == nil)
      try await one.release(lease)
      #expect(try await two.lease(on: target) == taken)
    }
  }

  @Test("concurrent inserts from two instances never exceed the active job limit")
  func concurrentLimit() async throws {
    try await Self.withTwoInstances(poolSize: 4) { (one: PostgresJobCatalog, two: PostgresJobCatalog) async throws in
      let inserted = try await withThrowingTaskGroup(of: Bool.self) { group in
        for index in 0 ..< 20 {
          let catalog = index % 2 == 0 ? one : two
          group.addTask {
            if case .inserted = try await catalog.insert(
              Self.job("bulk-job-\(index)"),
              idempotencyKey: nil,
              activeJobLimit: 5
            ) {
              return true
            }
            return false
          }
        }
        return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
      }
      #expect(inserted == 5)
      #expect(try await one.countsByState() == [.open: 5])
    }
  }

  @Test("concurrent updates of one job from two instances serialize: no update is lost")
  func concurrentUpdates() async throws {
    try await Self.withTwoInstances(poolSize: 4) { (one: PostgresJobCatalog, two: PostgresJobCatalog) async throws in
      _ = try await one.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 10)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0 ..< 40 {
          let catalog = index % 2 == 0 ? one : two
          group.addTask {
            _ = try await catalog.update(id: "bulk-job-a", tenantID: "t") { job throws(BulkError) in
              job.numberRecordsProcessed += 1
            }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await two.job(id: "bulk-job-a", tenantID: "t")?.numberRecordsProcessed == 40)
    }
  }

  @Test("a connection lost in the middle of an update is retried, and the change is applied once")
  func lostConnection() async throws {
    let schema = Self.freshSchema()
    let catalog = try await Self.open(schema)
    defer { catalog.shutdown() }
    _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 10)
    let cluster = try await PostgresCluster.shared()
    let calls = Atomic<Int>(0)
    let updated = try await catalog.update(id: "bulk-job-a", tenantID: "t") { job throws(BulkError) in
      if calls.add(1, ordering: .relaxed).newValue == 1 {
        // The catalog's connection holds the row lock, idle in its transaction: end it.
        _ = try? cluster.psql(
          """
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE state = 'idle in transaction' AND query LIKE '%FOR UPDATE%' AND query LIKE '%"\(schema)"%'
          """
        )
      }
      job.numberRecordsProcessed += 1
    }
    #expect(calls.load(ordering: .relaxed) == 2)
    #expect(updated.numberRecordsProcessed == 1)
    #expect(try await catalog.job(id: "bulk-job-a", tenantID: "t")?.numberRecordsProcessed == 1)
  }
}
