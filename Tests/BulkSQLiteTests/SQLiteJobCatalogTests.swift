import BulkCore
import BulkSQLite
import BulkTestSupport
import Foundation
import Testing

@Suite("SQLiteJobCatalog")
struct SQLiteJobCatalogTests {
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

  @Test("jobs survive reopening the catalog, every field intact")
  func durability() async throws {
    try await withTemporaryDirectory { directory in
      let path = "\(directory)/catalog.sqlite"
      var original = Self.job("bulk-job-a")
      original.numberRecordsProcessed = 7
      original.errorMessage = "it's \"quoted\"\nand multi-line ✓"
      do {
        let catalog = try SQLiteJobCatalog(path: path)
        guard case .inserted(let stored) = try await catalog.insert(original, idempotencyKey: nil, activeJobLimit: 10)
        else {
          Issue.record("not inserted")
          return
        }
        #expect(stored == original)
      }
      let reopened = try SQLiteJobCatalog(path: path)
      #expect(try await reopened.job(id: "bulk-job-a", tenantID: "t") == original)
      #expect(try await reopened.job(id: "bulk-job-a", tenantID: "other") == nil)
    }
  }

  @Test("an idempotency key returns the first job and its fingerprint")
  func idempotency() async throws {
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
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
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
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
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
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

  @Test("update is atomic: a refusing change stores nothing")
  func update() async throws {
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
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
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
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

  @Test("leases: every claim is granted (one instance), holder and expiry are stored, renew and release need the holder")
  func leases() async throws {
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
      _ = try await catalog.insert(Self.job("bulk-job-a"), idempotencyKey: nil, activeJobLimit: 10)
      let target = LeaseTarget.job(id: "bulk-job-a", tenantID: "t")
      let now = Date(timeIntervalSince1970: 1_800_000_000)
      let first = try #require(try await catalog.claim(target, holder: "one", for: .seconds(30), now: now))
      #expect(first == JobLease(target: target, holder: "one", expiresAt: now.addingTimeInterval(30)))
      #expect(try await catalog.lease(on: target) == first)
      // A restarted process (another holder) takes the job over at once.
      let second = try #require(try await catalog.claim(target, holder: "two", for: .seconds(30), now: now))
      #expect(try await catalog.lease(on: target)?.holder == "two")
      #expect(try await catalog.renew(first, for: .seconds(60), now: now) == nil)
      try await catalog.release(first)
      #expect(try await catalog.lease(on: target) == second)
      let renewed = try await catalog.renew(second, for: .seconds(60), now: now)
      #expect(renewed?.expiresAt == now.addingTimeInterval(60))
      #expect(try await catalog.lease(on: target) == renewed)
      // A chunk's lease is apart from its job's.
      let chunk = LeaseTarget.chunk(jobID: "bulk-job-a", tenantID: "t", index: 3)
      #expect(try await catalog.lease(on: chunk) == nil)
      _ = try await catalog.claim(chunk, holder: "two", for: .seconds(5), now: now)
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
    try await withTemporaryDirectory { directory in
      let path = "\(directory)/catalog.sqlite"
      let connection = try SQLiteConnection(path: path)
      try connection.execute("PRAGMA user_version = 99")
      #expect(throws: SQLiteError.self) { try SQLiteJobCatalog(path: path) }
    }
  }
}
