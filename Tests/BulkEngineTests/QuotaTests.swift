import BulkCore
import BulkEngine
import BulkTestSupport
import Foundation
import Synchronization
import Testing

/// Every quota through the real service and engine: refused with `RESOURCE_EXHAUSTED` naming the
/// limit, nothing of a refused write stored, and reads, deletes and state changes still working.
@Suite("Quotas")
struct QuotaTests {
  let other = Tenant(id: "other")

  static func settings(chunkBytes: Int = 8 << 20) -> EngineSettings {
    var settings = EngineSettings(workers: 2)
    settings.chunkBytes = chunkBytes
    return settings
  }

  static func stream(_ pieces: [UploadPiece]) -> AsyncThrowingStream<UploadPiece, any Error> {
    AsyncThrowingStream { continuation in
      for piece in pieces { continuation.yield(piece) }
      continuation.finish()
    }
  }

  /// Uploads `text` at `offset` in one message.
  static func upload(
    _ text: String,
    at offset: Int64 = 0,
    to job: Job,
    tenant: Tenant,
    _ service: JobService
  ) async throws -> UploadReceipt {
    try await service.upload(
      tenant: tenant,
      pieces: Self.stream([UploadPiece(jobID: job.id, offset: offset, payload: .bytes(Data(text.utf8)))])
    )
  }

  /// Expects `body` to throw `RESOURCE_EXHAUSTED` whose message contains `naming`.
  static func expectExhausted<T>(
    naming: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
  ) async {
    do {
      _ = try await body()
      Issue.record("expected RESOURCE_EXHAUSTED naming \(naming); the call succeeded", sourceLocation: sourceLocation)
    } catch let error as BulkError {
      #expect(error.code == .resourceExhausted, "\(error)", sourceLocation: sourceLocation)
      #expect(error.message.contains(naming), "\(error.message)", sourceLocation: sourceLocation)
    } catch {
      Issue.record("expected a BulkError, got \(error)", sourceLocation: sourceLocation)
    }
  }

  static func csv(rows: Int, width: Int = 20) -> String {
    "id,name\n" + (1 ... rows).map { "\($0),\(String(repeating: "x", count: width))\n" }.joined()
  }

  // MARK: - Bytes stored per tenant

  @Test(
    "an upload past the tenant's bytes is refused before it is stored; what was acknowledged stays; deleting makes room"
  )
  func tenantBytesOnUpload() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(
        directory: directory,
        settings: Self.settings(),
        limits: Limits(maxTenantBytes: 100)
      )
      let service = harness.service
      let job = try await service.createJob(
        JobSpec(operation: .insert, object: "t"),
        requestID: "",
        tenant: harness.tenant
      )
      let first = try await Self.upload(
        "id,name\n" + String(repeating: "1,a\n", count: 13),
        to: job,
        tenant: harness.tenant,
        service
      )
      #expect(first.progress.bytesUploaded == 60)

      await Self.expectExhausted(naming: "limit of 100 bytes (--max-tenant-bytes)") {
        try await Self.upload(String(repeating: "2,b\n", count: 11), at: 60, to: job, tenant: harness.tenant, service)
      }
      #expect(try await service.job(id: job.id, tenant: harness.tenant).bytesUploaded == 60)
      #expect(harness.staging.ledger.bytes(ofTenant: harness.tenant.id) == 60)
      let second = try await service.createJob(
        JobSpec(operation: .insert, object: "t"),
        requestID: "",
        tenant: harness.tenant
      )
      await Self.expectExhausted(naming: "--max-tenant-bytes") {
        try await Self.upload(Self.csv(rows: 3), to: second, tenant: harness.tenant, service)
      }
      #expect(try await service.job(id: second.id, tenant: harness.tenant).bytesUploaded == 0)

      // Another tenant has a quota of its own.
      let theirs = try await service.createJob(
        JobSpec(operation: .insert, object: "t"),
        requestID: "",
        tenant: self.other
      )
      #expect(
        try await Self.upload(Self.csv(rows: 2), to: theirs, tenant: self.other, service).progress.bytesUploaded > 0
      )

      // Aborting and deleting the job gives its bytes back.
      _ = try await service.updateState(id: job.id, to: .aborted, tenant: harness.tenant)
      try await service.deleteJob(id: job.id, tenant: harness.tenant)
      #expect(harness.staging.ledger.bytes(ofTenant: harness.tenant.id) == 0)
      #expect(
        try await Self.upload(Self.csv(rows: 3), to: second, tenant: harness.tenant, service).progress.bytesUploaded > 0
      )
    }
  }

  @Test("results that would pass the tenant's bytes fail the job with the reason, before any chunk is applied")
  func tenantBytesOnResults() async throws {
    try await withTemporaryDirectory { directory in
      let upload = Self.csv(rows: 20)
      let harness = try EngineHarness(
        directory: directory,
        settings: Self.settings(),
        limits: Limits(maxTenantBytes: Int64(upload.utf8.count) + 100)
      )
      try harness.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
      let job = try await harness.run(JobSpec(operation: .insert, object: "t"), csv: upload)
      #expect(job.state == .failed)
      #expect(job.errorMessage.contains("--max-tenant-bytes"), "\(job.errorMessage)")
      #expect(try harness.rows("SELECT count(*) FROM t") == [["0"]])
      // Every record is still in a result set: the unprocessed one.
      let unprocessed = try await harness.results(job, .unprocessed)
      #expect(unprocessed.records == 20)
      #expect(try await harness.results(job, .successful).records == 0)
    }
  }

  @Test("the tenant's bytes are measured from disk at start, finished jobs' results included, and given back on delete")
  func tenantBytesAcrossRestart() async throws {
    try await withTemporaryDirectory { directory in
      let settings = Self.settings(chunkBytes: 256)
      let limits = Limits(maxTenantBytes: 1 << 20)
      let before = try EngineHarness(directory: directory, settings: settings, limits: limits)
      try before.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
      let finished = try await before.run(JobSpec(operation: .insert, object: "t"), csv: Self.csv(rows: 50))
      #expect(finished.state == .jobComplete, "\(finished.errorMessage)")
      #expect(finished.numberChunks > 1)
      let open = try await before.service.createJob(
        JobSpec(operation: .insert, object: "t"),
        requestID: "",
        tenant: before.tenant
      )
      _ = try await Self.upload(Self.csv(rows: 5), to: open, tenant: before.tenant, before.service)
      let counted = before.staging.ledger.bytes(ofTenant: before.tenant.id)
      #expect(counted > Int64(Self.csv(rows: 50).utf8.count) * 2)

      let after = try EngineHarness(directory: directory, settings: settings, limits: limits)
      #expect(after.staging.ledger.bytes(ofTenant: after.tenant.id) == 0)
      try await after.engine.measureStorage()
      #expect(after.staging.ledger.bytes(ofTenant: after.tenant.id) == counted)

      try await after.service.deleteJob(id: finished.id, tenant: after.tenant)
      let openBytes = Int64(Self.csv(rows: 5).utf8.count)
      #expect(after.staging.ledger.bytes(ofTenant: after.tenant.id) == openBytes)
    }
  }

  @Test("a job purged past its lifetime gives its bytes back")
  func tenantBytesPurged() async throws {
    try await withTemporaryDirectory { directory in
      var settings = Self.settings()
      settings.maxJobAge = .milliseconds(1)
      settings.reapInterval = .milliseconds(20)
      let harness = try EngineHarness(directory: directory, settings: settings)
      let job = try await harness.service.createJob(
        JobSpec(operation: .insert, object: "t"),
        requestID: "",
        tenant: harness.tenant
      )
      _ = try await Self.upload(Self.csv(rows: 5), to: job, tenant: harness.tenant, harness.service)
      #expect(harness.staging.ledger.bytes(ofTenant: harness.tenant.id) > 0)
      let engine = Task { try await harness.engine.run() }
      let failed = try await harness.finished(job)
      #expect(failed.state == .failed)
      // The reaper removes the upload right after it stores the failure.
      while harness.staging.ledger.bytes(ofTenant: harness.tenant.id) > 0 {
        await Task.yield()
      }
      engine.cancel()
      try await engine.value
    }
  }

  // MARK: - Free-disk floor

  @Test("below the free-disk floor uploads and new results are refused; reads, deletes and state changes work")
  func freeDiskFloor() async throws {
    try await withTemporaryDirectory { directory in
      let free = Mutex<Int64>(1 << 40)
      let harness = try EngineHarness(
        directory: directory,
        settings: Self.settings(),
        freeBytes: { free.withLock { $0 } }
      )
      let service = harness.service
      let tenant = harness.tenant
      try harness.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
      let done = try await harness.run(JobSpec(operation: .insert, object: "t"), csv: Self.csv(rows: 3))
      #expect(done.state == .jobComplete)
      let open = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: tenant)
      _ = try await Self.upload("id,name\n", to: open, tenant: tenant, service)
      let waiting = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: tenant)
      _ = try await Self.upload(Self.csv(rows: 2), to: waiting, tenant: tenant, service)

      free.withLock { $0 = Limits().minFreeBytes + 10 }
      await Self.expectExhausted(naming: "floor of 1073741824 bytes (--min-free-bytes)") {
        try await Self.upload("1,a\n2,b\n3,c\n", at: 8, to: open, tenant: tenant, service)
      }
      #expect(try await service.job(id: open.id, tenant: tenant).bytesUploaded == 8)

      // A job closed now cannot write results: it fails with the reason, and nothing is applied.
      let refused = try await harness.finished(
        try await service.updateState(id: waiting.id, to: .uploadComplete, tenant: tenant)
      )
      #expect(refused.state == .failed)
      #expect(refused.errorMessage.contains("--min-free-bytes"), "\(refused.errorMessage)")
      #expect(try harness.rows("SELECT count(*) FROM t") == [["3"]])

      // Reads, listings, state changes and deletes go on.
      #expect(try await harness.results(done, .successful).records == 3)
      #expect(try await service.listJobs(tenant: tenant, state: nil, limit: 0, pageToken: "").jobs.count == 3)
      #expect(try await service.updateState(id: open.id, to: .aborted, tenant: tenant).state == .aborted)
      try await service.deleteJob(id: done.id, tenant: tenant)
      try await service.deleteJob(id: open.id, tenant: tenant)

      free.withLock { $0 = 1 << 40 }
      let later = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: tenant)
      #expect(try await Self.upload(Self.csv(rows: 1), to: later, tenant: tenant, service).progress.bytesUploaded > 0)
    }
  }

  @Test("the floor is read from the data directory's file system: one above its free space refuses uploads")
  func realFreeSpace() async throws {
    try await withTemporaryDirectory { directory in
      let available = try StorageLedger.availableBytes(at: directory)
      #expect(available > 0)
      let harness = try EngineHarness(
        directory: directory,
        settings: Self.settings(),
        limits: Limits(minFreeBytes: available + (1 << 30))
      )
      let job = try await harness.service.createJob(
        JobSpec(operation: .insert, object: "t"),
        requestID: "",
        tenant: harness.tenant
      )
      await Self.expectExhausted(naming: "--min-free-bytes") {
        try await Self.upload(Self.csv(rows: 1), to: job, tenant: harness.tenant, harness.service)
      }
    }
  }

  // MARK: - Query result size

  enum Warehouse: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self.rawValue }
  }

  @Test(
    "a query whose result passes its limit fails with the reason and keeps exactly the rows it reports",
    arguments: Warehouse.allCases
  )
  func queryResultSize(warehouse: Warehouse) async throws {
    try await withTemporaryDirectory { directory in
      let settings = Self.settings(chunkBytes: 4096)
      let limits = Limits(maxQueryResultBytes: 20_480)
      let harness: EngineHarness
      switch warehouse {
      case .sqlite:
        harness = try EngineHarness(directory: directory, settings: settings, limits: limits)
        try harness.sql(
          """
          CREATE TABLE items AS WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 2000)
          SELECT n AS id, printf('%040d', n) AS name FROM g
          """
        )
      case .postgres:
        let postgres = try await PostgresTenant.make(
          "CREATE TABLE items AS SELECT g AS id, lpad(g::text, 40, '0') AS name FROM generate_series(1, 2000) g;"
        )
        harness = try postgres.harness(directory: directory, settings: settings, limits: limits)
      }
      let spec = JobSpec(operation: .query, object: "items", query: "SELECT id, name FROM items ORDER BY id")
      let job = try await harness.finished(try await harness.submit(spec, []))
      #expect(job.state == .failed)
      #expect(
        job.errorMessage.contains("passed its limit of 20480 bytes (--max-query-result-bytes)"),
        "\(job.errorMessage)"
      )
      #expect(
        job.errorMessage.contains("the results keep the first \(job.numberRecordsProcessed)"),
        "\(job.errorMessage)"
      )
      #expect(job.numberRecordsProcessed > 0)
      #expect(job.numberRecordsProcessed < 2000)

      let results = try await harness.results(job, .query)
      let lines = results.text.split(separator: "\n")
      #expect(lines.first == "id,name")
      let ids = lines.dropFirst().compactMap { Int($0.split(separator: ",")[0]) }
      #expect(Int64(ids.count) == job.numberRecordsProcessed)
      #expect(ids == (0 ..< ids.count).map { $0 + 1 })
      #expect(results.text.utf8.count - "id,name\n".utf8.count <= 20_480)

      // The warehouse's connection is usable after the statement was stopped.
      let small = JobSpec(operation: .query, object: "items", query: "SELECT id FROM items WHERE id <= 10")
      let next = try await harness.finished(try await harness.submit(small, []))
      #expect(next.state == .jobComplete, "\(next.errorMessage)")
      #expect(next.numberRecordsProcessed == 10)
    }
  }

  // MARK: - Query text, columns and values

  @Test("a query longer than its limit is refused at create, naming the limit; one at the limit is taken")
  func queryLength() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings())
      let prefix = "SELECT 1 -- "
      let atLimit = prefix + String(repeating: "x", count: 100_000 - prefix.utf8.count)
      let job = try await harness.service.createJob(
        JobSpec(operation: .query, object: "t", query: atLimit),
        requestID: "",
        tenant: harness.tenant
      )
      #expect(job.state == .open)
      do {
        _ = try await harness.service.createJob(
          JobSpec(operation: .query, object: "t", query: atLimit + "x"),
          requestID: "",
          tenant: harness.tenant
        )
        Issue.record("a query of 100,001 bytes was taken")
      } catch let error as BulkError {
        #expect(error.code == .resourceExhausted)
        #expect(error.isRequestTooLarge)
        #expect(error.message == "query is 100001 bytes, over the limit of 100000 bytes (--max-query-bytes)")
      }
    }
  }

  @Test("a CSV header or record batch naming more columns than allowed is refused before it is stored")
  func headerColumns() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings(), limits: Limits(maxColumns: 4))
      let service = harness.service
      let tenant = harness.tenant
      let csv = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: tenant)
      #expect(try await Self.upload("a,b,c,d\n", to: csv, tenant: tenant, service).progress.bytesUploaded == 8)
      let wide = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: tenant)
      await Self.expectExhausted(
        naming: "the header at byte 0 names 5 columns, more than the 4 allowed (--max-columns)"
      ) {
        try await Self.upload("a,b,c,d,e\n1,2,3,4,5\n", to: wide, tenant: tenant, service)
      }
      #expect(try await service.job(id: wide.id, tenant: tenant).bytesUploaded == 0)

      let typed = try await service.createJob(
        JobSpec(operation: .insert, object: "t", contentType: .recordBatch),
        requestID: "",
        tenant: tenant
      )
      await Self.expectExhausted(naming: "records.columns names 5 columns, more than the 4 allowed (--max-columns)") {
        try await service.upload(
          tenant: tenant,
          pieces: Self.stream([
            UploadPiece(
              jobID: typed.id,
              offset: 0,
              payload: .records(columns: ["a", "b", "c", "d", "e"], rows: [[.text("1")]])
            )
          ])
        )
      }
    }
  }

  @Test("a JSON upload whose first record has more fields than allowed fails its job, naming the limit")
  func jsonColumns() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: Self.settings(), limits: Limits(maxColumns: 2))
      try harness.sql("CREATE TABLE t (a TEXT, b TEXT, c TEXT)")
      let job = try await harness.finished(
        try await harness.submit(
          JobSpec(operation: .insert, object: "t", contentType: .json),
          [.bytes(Data(#"[{"a":"1","b":"2","c":"3"}]"#.utf8))]
        )
      )
      #expect(job.state == .failed)
      #expect(
        job.errorMessage.contains("3 fields, more than the 2 columns allowed (--max-columns)"),
        "\(job.errorMessage)"
      )
    }
  }

  @Test(
    "a value longer than allowed fails its record with VALUE_TOO_LARGE naming the column and record; the others load"
  )
  func valueSize() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(
        directory: directory,
        settings: Self.settings(),
        limits: Limits(maxValueBytes: 10)
      )
      try harness.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
      let csv = try await harness.run(
        JobSpec(operation: .insert, object: "t"),
        csv: "id,name\n1,tenletters\n2,elevenchars\n"
      )
      #expect(csv.state == .jobComplete)
      #expect(csv.numberRecordsFailed == 1)
      let failed = try await harness.results(csv, .failed)
      #expect(
        failed.text.contains(
          "VALUE_TOO_LARGE: the value of column 'name' in record 2 is 11 bytes, over the limit of 10 bytes (--max-value-bytes)"
        ),
        "\(failed.text)"
      )
      let json = try await harness.finished(
        try await harness.submit(
          JobSpec(operation: .insert, object: "t", contentType: .json),
          [.bytes(Data(#"[{"id":3,"name":"short"},{"id":4,"name":"much too long"}]"#.utf8))]
        )
      )
      #expect(json.numberRecordsFailed == 1)
      #expect(try await harness.results(json, .failed).text.contains("column 'name' in record 2 is 13 bytes"))
      #expect(try harness.rows("SELECT id FROM t ORDER BY id") == [["1"], ["3"]])
    }
  }
}
