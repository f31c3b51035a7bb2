import BulkCore
import BulkSQLite
import Foundation
import Logging
import Testing

/// The service rules over the real SQLite catalog.
@Suite("JobService")
struct JobServiceTests {
  let acme = Tenant(id: "acme")
  let other = Tenant(id: "other")

  @discardableResult
  func withService<T>(limits: Limits = Limits(), _ body: (JobService) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
      return try await body(
        JobService(
          catalog: catalog,
          limits: limits,
          logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
      )
    }
  }

  @Test("create, get, close, abort-refused, delete")
  func lifecycle() async throws {
    try await self.withService { service in
      let job = try await service.createJob(
        JobSpec(operation: .insert, object: "customers"),
        requestID: "",
        tenant: self.acme
      )
      #expect(job.state == .open)
      #expect(job.tenantID == "acme")
      #expect(try await service.job(id: job.id, tenant: self.acme) == job)

      let closed = try await service.updateState(id: job.id, to: .uploadComplete, tenant: self.acme)
      #expect(closed.state == .uploadComplete)
      #expect(closed.updatedAt >= job.updatedAt)
      #expect(try await service.updateState(id: job.id, to: .uploadComplete, tenant: self.acme) == closed)
      await #expect(
        throws: BulkError.failedPrecondition(
          "job is UploadComplete; only a finished job can be deleted, abort it first"
        )
      ) {
        try await service.deleteJob(id: job.id, tenant: self.acme)
      }
      let aborted = try await service.updateState(id: job.id, to: .aborted, tenant: self.acme)
      #expect(aborted.state == .aborted)
      await #expect(throws: BulkError.failedPrecondition("job is Aborted and cannot be closed")) {
        try await service.updateState(id: job.id, to: .uploadComplete, tenant: self.acme)
      }
      await #expect(
        throws: BulkError.failedPrecondition("state InProgress cannot be requested; use UploadComplete or Aborted")
      ) {
        try await service.updateState(id: job.id, to: .inProgress, tenant: self.acme)
      }
      try await service.deleteJob(id: job.id, tenant: self.acme)
      await #expect(throws: BulkError.jobNotFound(job.id)) { try await service.job(id: job.id, tenant: self.acme) }
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
}
