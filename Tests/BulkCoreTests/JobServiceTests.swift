import BulkCore
import BulkEngine
import BulkSQLite
import BulkTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The service rules over the real SQLite catalog.
@Suite("JobService")
struct JobServiceTests {
  let acme = Tenant(id: "acme")
  let other = Tenant(id: "other")

  @discardableResult
  func withService<T>(limits: Limits = Limits(), _ body: (JobService) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
      try await body(EngineHarness(directory: directory, settings: EngineSettings(workers: 1), limits: limits).service)
    }
  }

  @Test("create, get, close, abort, delete, with the job held in processing")
  func lifecycle() async throws {
    try await withTemporaryDirectory { directory in
      let gate = Mutex<GatedWarehouse?>(nil)
      let harness = try EngineHarness(directory: directory, settings: EngineSettings(workers: 1)) { base in
        let gated = GatedWarehouse(base, gatedFrom: 0)
        gate.withLock { $0 = gated }
        return gated
      }
      let service = harness.service
      try harness.sql("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
      let job = try await service.createJob(
        JobSpec(operation: .insert, object: "customers"),
        requestID: "",
        tenant: harness.tenant
      )
      #expect(job.state == .open)
      #expect(job.tenantID == "acme")
      #expect(try await service.job(id: job.id, tenant: harness.tenant) == job)
      _ = try await service.upload(tenant: harness.tenant, pieces: Self.stream([Self.piece(job.id, 0, "id\n1\n")]))

      let closed = try await service.updateState(id: job.id, to: .uploadComplete, tenant: harness.tenant)
      #expect(closed.state == .uploadComplete)
      #expect(closed.updatedAt >= job.updatedAt)
      // Closing again succeeds whether processing has started or not.
      let again = try await service.updateState(id: job.id, to: .uploadComplete, tenant: harness.tenant)
      #expect([.uploadComplete, .inProgress].contains(again.state))
      await #expect {
        try await service.deleteJob(id: job.id, tenant: harness.tenant)
      } throws: { error in
        (error as? BulkError)?.code == .failedPrecondition
      }
      let aborted = try await service.updateState(id: job.id, to: .aborted, tenant: harness.tenant)
      #expect(aborted.state == .aborted)
      await #expect(throws: BulkError.failedPrecondition("job is Aborted and cannot be closed")) {
        try await service.updateState(id: job.id, to: .uploadComplete, tenant: harness.tenant)
      }
      await #expect(
        throws: BulkError.failedPrecondition("state InProgress cannot be requested; use UploadComplete or Aborted")
      ) {
        try await service.updateState(id: job.id, to: .inProgress, tenant: harness.tenant)
      }
      try #require(gate.withLock { $0 }).open()
      await harness.engine.waitUntilIdle(jobID: job.id)
      try await service.deleteJob(id: job.id, tenant: harness.tenant)
      await #expect(throws: BulkError.jobNotFound(job.id)) { try await service.job(id: job.id, tenant: harness.tenant) }
    }
  }

  @Test("another tenant's job does not exist for the caller, in every call")
  func isolation() async throws {
    try await self.withService { service in
      let job = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "r", tenant: self.acme)
      let notFound = BulkError.jobNotFound(job.id)
      await #expect(throws: notFound) { try await service.job(id: job.id, tenant: self.other) }
      await #expect(throws: notFound) { try await service.updateState(id: job.id, to: .aborted, tenant: self.other) }
      await #expect(throws: notFound) { try await service.deleteJob(id: job.id, tenant: self.other) }
      #expect(try await service.listJobs(tenant: self.other, state: nil, limit: 0, pageToken: "").jobs.isEmpty)
      // The same request id makes the other tenant its own job.
      let theirs = try await service.createJob(
        JobSpec(operation: .insert, object: "t"),
        requestID: "r",
        tenant: self.other
      )
      #expect(theirs.id != job.id)
      #expect(try await service.job(id: job.id, tenant: self.acme).state == .open)
    }
  }

  @Test("a retried create returns the same job; another body with the id is ALREADY_EXISTS")
  func requestIDs() async throws {
    try await self.withService { service in
      let spec = JobSpec(operation: .upsert, object: "t", externalIDField: "id")
      let first = try await service.createJob(spec, requestID: "req-1", tenant: self.acme)
      #expect(try await service.createJob(spec, requestID: "req-1", tenant: self.acme) == first)
      var changed = spec
      changed.object = "u"
      await #expect {
        try await service.createJob(changed, requestID: "req-1", tenant: self.acme)
      } throws: { error in
        (error as? BulkError)?.code == .alreadyExists && (error as? BulkError)?.message.contains(first.id) == true
      }
      #expect(try await service.listJobs(tenant: self.acme, state: nil, limit: 0, pageToken: "").jobs.count == 1)
    }
  }

  @Test("too many unfinished jobs is RESOURCE_EXHAUSTED")
  func activeLimit() async throws {
    try await self.withService(limits: Limits(maxActiveJobsPerTenant: 2)) { service in
      let spec = JobSpec(operation: .insert, object: "t")
      let first = try await service.createJob(spec, requestID: "", tenant: self.acme)
      _ = try await service.createJob(spec, requestID: "", tenant: self.acme)
      await #expect { try await service.createJob(spec, requestID: "", tenant: self.acme) } throws: { error in
        (error as? BulkError)?.code == .resourceExhausted
      }
      _ = try await service.updateState(id: first.id, to: .aborted, tenant: self.acme)
      _ = try await service.createJob(spec, requestID: "", tenant: self.acme)
    }
  }

  @Test("listing: 25 by default, at most the maximum, tokens page through everything once")
  func listing() async throws {
    try await self.withService(limits: Limits(maxPageSize: 40)) { service in
      var created: [String] = []
      for _ in 0 ..< 45 {
        created.append(
          try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: self.acme).id
        )
      }
      let first = try await service.listJobs(tenant: self.acme, state: nil, limit: 0, pageToken: "")
      #expect(first.jobs.count == 25)
      #expect(first.jobs.first?.id == created.last)
      #expect(!first.nextPageToken.isEmpty)
      let capped = try await service.listJobs(tenant: self.acme, state: nil, limit: 5000, pageToken: "")
      #expect(capped.jobs.count == 40)

      var seen: [String] = []
      var token = ""
      repeat {
        let page = try await service.listJobs(tenant: self.acme, state: .open, limit: 10, pageToken: token)
        seen += page.jobs.map(\.id)
        token = page.nextPageToken
      } while !token.isEmpty
      #expect(seen == created.reversed())
      await #expect(throws: BulkError.invalidArgument("limit must not be negative")) {
        try await service.listJobs(tenant: self.acme, state: nil, limit: -1, pageToken: "")
      }
      await #expect(throws: BulkError.invalidArgument("page_token is not a token this server issued")) {
        try await service.listJobs(tenant: self.acme, state: nil, limit: 0, pageToken: "nope")
      }
    }
  }

  @Test("an empty job id is INVALID_ARGUMENT")
  func emptyID() async throws {
    try await self.withService { service in
      await #expect(throws: BulkError.invalidArgument("job_id is required")) {
        try await service.job(id: "", tenant: self.acme)
      }
    }
  }

  static func stream(_ pieces: [UploadPiece]) -> AsyncThrowingStream<UploadPiece, any Error> {
    AsyncThrowingStream { continuation in
      for piece in pieces {
        continuation.yield(piece)
      }
      continuation.finish()
    }
  }

  static func piece(_ jobID: String, _ offset: Int64, _ text: String) -> UploadPiece {
    UploadPiece(jobID: jobID, offset: offset, payload: .bytes(Data(text.utf8)))
  }

  @Test("uploads append across calls; close makes bytes_uploaded final and refuses more")
  func upload() async throws {
    try await self.withService { service in
      let job = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: self.acme)
      let first = try await service.upload(
        tenant: self.acme,
        pieces: Self.stream([Self.piece(job.id, 0, "id,name\n"), Self.piece("", 8, "1,a\n")])
      )
      #expect(first == UploadReceipt(jobID: job.id, progress: UploadProgress(bytesUploaded: 12, recordsReceived: 1)))
      #expect(try await service.job(id: job.id, tenant: self.acme).bytesUploaded == 12)

      // A retry of the second message plus a new one.
      let second = try await service.upload(
        tenant: self.acme,
        pieces: Self.stream([Self.piece(job.id, 8, "1,a\n2,b\n")])
      )
      #expect(second.progress.bytesUploaded == 16)

      let closed = try await service.updateState(id: job.id, to: .uploadComplete, tenant: self.acme)
      #expect(closed.bytesUploaded == 16)
      await #expect {
        try await service.upload(tenant: self.acme, pieces: Self.stream([Self.piece(job.id, 16, "3,c\n")]))
      } throws: { error in
        (error as? BulkError)?.code == .failedPrecondition
      }
    }
  }

  @Test("an upload names its job first, only the caller's, and in the job's content type")
  func uploadRefusals() async throws {
    try await self.withService { service in
      let csv = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: self.acme)
      let typed = try await service.createJob(
        JobSpec(operation: .insert, object: "t", contentType: .recordBatch),
        requestID: "",
        tenant: self.acme
      )
      let query = try await service.createJob(
        JobSpec(operation: .query, object: "t", query: "SELECT 1"),
        requestID: "",
        tenant: self.acme
      )
      let cases: [([UploadPiece], BulkError.Code, String)] = [
        ([], .invalidArgument, "empty"),
        ([Self.piece("", 0, "id\n")], .invalidArgument, "job_id is required"),
        ([Self.piece(csv.id, 0, "id\n"), Self.piece(typed.id, 3, "1\n")], .invalidArgument, "this stream uploads to"),
        ([Self.piece(typed.id, 0, "id\n")], .invalidArgument, "a RECORD_BATCH job takes records"),
        (
          [UploadPiece(jobID: csv.id, offset: 0, payload: .records(columns: ["id"], rows: [[.null]]))],
          .invalidArgument, "a CSV job takes data"
        ),
        ([Self.piece(query.id, 0, "id\n")], .failedPrecondition, "query jobs take no upload"),
        ([Self.piece(csv.id, 5, "id\n")], .outOfRange, "resume from offset 3"),
      ]
      for (pieces, code, fragment) in cases {
        await #expect {
          try await service.upload(tenant: self.acme, pieces: Self.stream(pieces))
        } throws: { error in
          (error as? BulkError)?.code == code && (error as? BulkError)?.message.contains(fragment) == true
        }
      }
      await #expect(throws: BulkError.jobNotFound(csv.id)) {
        try await service.upload(tenant: self.other, pieces: Self.stream([Self.piece(csv.id, 0, "id\n")]))
      }
    }
  }

  @Test("what was stored before a refused message is durable and reported in bytes_uploaded")
  func uploadErrorKeepsProgress() async throws {
    try await self.withService { service in
      let job = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: self.acme)
      await #expect {
        try await service.upload(
          tenant: self.acme,
          pieces: Self.stream([Self.piece(job.id, 0, "id,name\n1,a\n"), Self.piece("", 100, "9,z\n")])
        )
      } throws: { error in
        (error as? BulkError)?.code == .outOfRange
      }
      #expect(try await service.job(id: job.id, tenant: self.acme).bytesUploaded == 12)
    }
  }

  @Test("deleting a job removes its staged upload")
  func deleteRemovesUpload() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: EngineSettings(workers: 1))
      let service = harness.service
      let staging = harness.staging
      let job = try await service.createJob(JobSpec(operation: .insert, object: "t"), requestID: "", tenant: self.acme)
      _ = try await service.upload(tenant: self.acme, pieces: Self.stream([Self.piece(job.id, 0, "id\n1\n")]))
      #expect(try !staging.storage.list(jobID: job.id, area: .upload).isEmpty)
      _ = try await service.updateState(id: job.id, to: .aborted, tenant: self.acme)
      try await service.deleteJob(id: job.id, tenant: self.acme)
      #expect(try staging.storage.list(jobID: job.id, area: .upload).isEmpty)
    }
  }
}
