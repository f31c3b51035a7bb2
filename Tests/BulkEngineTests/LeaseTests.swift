import BulkCore
import BulkEngine
import BulkSQLite
import BulkTestSupport
import Foundation
import Synchronization
import Testing

/// A shared catalog in which another instance holds the leases of some jobs (and their chunks)
/// until `expire` is called: their claims are refused meanwhile. Every claim is told to `claims`, every look at a lease to
/// `leaseChecks`.
final class HeldElsewhereCatalog: JobCatalog {
  let base: any JobCatalog
  private let held: Mutex<[String: Date]>
  let claims: AsyncStream<String>
  private let continuation: AsyncStream<String>.Continuation
  let leaseChecks: AsyncStream<String>
  private let checked: AsyncStream<String>.Continuation

  init(_ base: any JobCatalog, held: Set<String>) {
    self.base = base
    self.held = Mutex(Dictionary(uniqueKeysWithValues: held.map { ($0, Date.distantFuture) }))
    (self.claims, self.continuation) = AsyncStream.makeStream()
    (self.leaseChecks, self.checked) = AsyncStream.makeStream()
  }

  /// Another instance holds `jobID` from now on.
  func hold(_ jobID: String) {
    self.held.withLock { $0[jobID] = .distantFuture }
  }

  /// The other instance died: its lease on `jobID` has expired.
  func expire(_ jobID: String) {
    self.held.withLock { $0[jobID] = .distantPast }
  }

  func claim(_ target: LeaseTarget, holder: String, for duration: Duration, now: Date) async throws -> JobLease? {
    defer { self.continuation.yield(target.jobID) }
    guard self.held.withLock({ $0[target.jobID].map { $0 <= now } ?? true }) else { return nil }
    return try await self.base.claim(target, holder: holder, for: duration, now: now)
  }

  func renew(_ lease: JobLease, for duration: Duration, now: Date) async throws -> JobLease? {
    try await self.base.renew(lease, for: duration, now: now)
  }
  func release(_ lease: JobLease) async throws { try await self.base.release(lease) }
  func lease(on target: LeaseTarget) async throws -> JobLease? {
    defer { self.checked.yield(target.jobID) }
    if let expiry = self.held.withLock({ $0[target.jobID] }), expiry > Date() {
      return JobLease(target: target, holder: "another-instance", expiresAt: expiry)
    }
    return try await self.base.lease(on: target)
  }
  func insert(_ job: Job, idempotencyKey: IdempotencyKey?, activeJobLimit: Int) async throws -> JobInsertOutcome {
    try await self.base.insert(job, idempotencyKey: idempotencyKey, activeJobLimit: activeJobLimit)
  }
  func job(id: String, tenantID: String) async throws -> Job? { try await self.base.job(id: id, tenantID: tenantID) }
  func jobs(tenantID: String, state: JobState?, limit: Int, after cursor: Int64?) async throws -> JobPage {
    try await self.base.jobs(tenantID: tenantID, state: state, limit: limit, after: cursor)
  }
  func jobs(states: Set<JobState>, createdBefore: Date?) async throws -> [Job] {
    try await self.base.jobs(states: states, createdBefore: createdBefore)
  }
  func countsByState() async throws -> [JobState: Int] { try await self.base.countsByState() }
  func update(
    id: String,
    tenantID: String,
    _ change: @escaping @Sendable (inout Job) throws(BulkError) -> Void
  ) async throws -> Job {
    try await self.base.update(id: id, tenantID: tenantID, change)
  }
  func delete(id: String, tenantID: String, _ check: @escaping @Sendable (Job) throws(BulkError) -> Void) async throws {
    try await self.base.delete(id: id, tenantID: tenantID, check)
  }
  /// Shared, as a catalog another instance uses must be.
  var sharesWork: Bool { true }
  /// The other instance holds the chunks of the jobs it holds too.
  func claimChunk(
    _ index: Int,
    jobID: String,
    tenantID: String,
    holder: String,
    for duration: Duration,
    now: Date
  ) async throws -> ChunkClaim {
    guard self.held.withLock({ $0[jobID].map { $0 <= now } ?? true }) else { return .heldElsewhere }
    return try await self.base.claimChunk(index, jobID: jobID, tenantID: tenantID, holder: holder, for: duration, now: now)
  }
  func finishChunk(_ lease: JobLease, counts: ChunkTally) async throws {
    try await self.base.finishChunk(lease, counts: counts)
  }
  func finishedChunks(jobID: String, tenantID: String) async throws -> [FinishedChunk] {
    try await self.base.finishedChunks(jobID: jobID, tenantID: tenantID)
  }
  func chunkLeases(jobID: String, tenantID: String, now: Date) async throws -> [JobLease] {
    try await self.base.chunkLeases(jobID: jobID, tenantID: tenantID, now: now)
  }
  func jobsToShare(now: Date) async throws -> [Job] { try await self.base.jobsToShare(now: now) }
}

@Suite("JobEngine: leases")
struct LeaseTests {
  static let csv = "id,name\n1,a\n2,b\n"

  static func settings() -> EngineSettings {
    var settings = EngineSettings(workers: 1)
    settings.chunkRecords = 1
    return settings
  }

  /// A harness whose catalog says another instance holds the jobs `held`.
  static func harness(directory: String, settings: EngineSettings, held: Set<String>) throws -> (EngineHarness, HeldElsewhereCatalog) {
    let wrapped = Mutex<HeldElsewhereCatalog?>(nil)
    let harness = try EngineHarness(
      directory: directory,
      settings: settings,
      catalogWrapping: { base in
        let catalog = HeldElsewhereCatalog(base, held: held)
        wrapped.withLock { $0 = catalog }
        return catalog
      }
    )
    return (harness, try #require(wrapped.withLock { $0 }))
  }

  /// Inserts a job in `state` directly into the catalog, as a previous process left it.
  static func leftBehind(_ id: String, _ state: JobState, in harness: EngineHarness) async throws -> Job {
    var job = Job(id: id, tenantID: harness.tenant.id, operation: .insert, object: "items", createdAt: Date())
    job.state = state
    guard case .inserted(let stored) = try await harness.catalog.insert(job, idempotencyKey: nil, activeJobLimit: 10)
    else { throw BulkError(code: .internal, message: "job \(id) not inserted") }
    return stored
  }

  @Test("a runner holds its job's lease while it runs and gives it back after")
  func runnerLease() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
      let job = try await harness.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv.utf8))])
      let target = LeaseTarget.job(id: job.id, tenantID: job.tenantID)
      let final = try await harness.finished(job)
      await harness.engine.waitUntilIdle(jobID: job.id)
      #expect(final.state == .jobComplete)
      #expect(try await harness.catalog.lease(on: target) == nil)
      _ = try await harness.catalog.claim(target, holder: "probe", for: .seconds(1), now: Date())
      #expect(try await harness.catalog.lease(on: target)?.holder == "probe")
    }
  }

  @Test("after a restart, only the jobs no other instance holds are resumed")
  func resumeOnlyClaimed() async throws {
    try await withTemporaryDirectory { directory in
      let (harness, catalog) = try Self.harness(directory: directory, settings: Self.settings(), held: ["bulk-job-held"])
      try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
      let held = try await Self.leftBehind("bulk-job-held", .uploadComplete, in: harness)
      let mine = try await Self.leftBehind("bulk-job-mine", .uploadComplete, in: harness)
      let engine = Task { try await harness.engine.run() }
      let final = try await harness.finished(mine)
      // The held job's lease was looked at, and found another instance's.
      var checks = catalog.leaseChecks.makeAsyncIterator()
      while let next = await checks.next(), next != held.id {}
      await harness.engine.waitUntilIdle(jobID: held.id)
      engine.cancel()
      _ = await engine.result
      #expect(final.state.isTerminal)
      let untouched = try await harness.service.job(id: held.id, tenant: harness.tenant)
      #expect(untouched == held)
    }
  }

  @Test("the reaper leaves the jobs another instance holds")
  func reapOnlyClaimed() async throws {
    try await withTemporaryDirectory { directory in
      var settings = Self.settings()
      settings.maxJobAge = .milliseconds(1)
      settings.reapInterval = .milliseconds(20)
      let (harness, catalog) = try Self.harness(directory: directory, settings: settings, held: ["bulk-job-held"])
      let held = try await Self.leftBehind("bulk-job-held", .open, in: harness)
      let mine = try await Self.leftBehind("bulk-job-mine", .open, in: harness)
      let engine = Task { try await harness.engine.run() }
      let final = try await harness.finished(mine)
      // Two claims of the held job: a whole reaper pass ran after the first.
      var claims = catalog.claims.makeAsyncIterator()
      var heldClaims = 0
      while heldClaims < 2, let next = await claims.next() {
        if next == held.id { heldClaims += 1 }
      }
      engine.cancel()
      _ = await engine.result
      #expect(final.state == .failed)
      #expect(try await harness.service.job(id: held.id, tenant: harness.tenant) == held)
    }
  }

  @Test("a job another instance holds is left to it; once its lease expired (the instance died), it is taken over and finished")
  func adoptExpired() async throws {
    try await withTemporaryDirectory { directory in
      var settings = Self.settings()
      settings.reapInterval = .milliseconds(20)
      let (harness, catalog) = try Self.harness(directory: directory, settings: settings, held: [])
      try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
      let uploaded = try await harness.submit(
        JobSpec(operation: .insert, object: "items"), [.bytes(Data(Self.csv.utf8))], close: false
      )
      // As another instance left it: closed there, and its lease still held by it.
      catalog.hold(uploaded.id)
      let job = try await harness.catalog.update(id: uploaded.id, tenantID: uploaded.tenantID) {
        (job: inout Job) throws(BulkError) in job.state = .uploadComplete
      }
      let engine = Task { try await harness.engine.run() }
      var checks = catalog.leaseChecks.makeAsyncIterator()
      var looks = 0
      while looks < 3, let next = await checks.next() {
        if next == job.id { looks += 1 }
      }
      #expect(try await harness.service.job(id: job.id, tenant: harness.tenant) == job)
      catalog.expire(job.id)
      let final = try await harness.finished(job)
      engine.cancel()
      _ = await engine.result
      #expect(final.state == .jobComplete)
      #expect(final.numberRecordsProcessed == 2)
    }
  }
}
