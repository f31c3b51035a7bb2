import BulkCore
import BulkGRPC
import BulkProto
import BulkSQLite
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import SwiftProtobuf
import Testing

/// The gRPC service with its auth interceptor over the in-process transport and a real catalog.
@Suite("BulkService over gRPC")
struct BulkServiceTests {
  typealias Client = Spectra_Bulk_V1_BulkService.Client<InProcessTransport.Client>

  static let acme: Metadata = ["authorization": "Bearer acme-token"]
  static let other: Metadata = ["authorization": "Bearer other-token"]

  func withClient(_ body: (Client) async throws -> Void) async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-grpc-\(UUID().uuidString).sqlite")
      .path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let directory = TenantDirectory([
      (Tenant(id: "acme"), [TenantDirectory.digest(of: "acme-token")]),
      (Tenant(id: "other"), [TenantDirectory.digest(of: "other-token")]),
    ])
    let service = BulkService(jobs: JobService(catalog: try SQLiteJobCatalog(path: path), logger: logger))
    let transport = InProcessTransport()
    let server = GRPCServer(
      transport: transport.server,
      services: [service],
      interceptors: [AuthInterceptor(directory: directory, logger: logger)]
    )
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      try await withGRPCClient(transport: transport.client) { client in
        try await body(Client(wrapping: client))
      }
      server.beginGracefulShutdown()
    }
  }

  static func create(
    _ object: String = "customers",
    _ operation: Spectra_Bulk_V1_Operation = .insert
  ) -> Spectra_Bulk_V1_CreateJobRequest {
    var request = Spectra_Bulk_V1_CreateJobRequest()
    request.operation = operation
    request.object = object
    return request
  }

  static func expectCode<T>(_ code: RPCError.Code, _ body: () async throws -> T) async {
    do {
      _ = try await body()
      Issue.record("expected \(code), the call succeeded")
    } catch let error as RPCError {
      #expect(error.code == code, "\(error)")
    } catch {
      Issue.record("expected RPCError \(code), got \(error)")
    }
  }

  @Test("create, get, list, close, abort and delete")
  func lifecycle() async throws {
    try await self.withClient { client in
      let job = try await client.createJob(Self.create(), metadata: Self.acme)
      #expect(job.jobID.hasPrefix("bulk-job-"))
      #expect(job.state == .open)
      #expect(job.operation == .insert)
      #expect(job.contentType == .csv)
      #expect(job.compression == .none)
      #expect(job.columnDelimiter == ",")
      #expect(job.tenantID == "acme")
      #expect(job.createdAt.seconds > 0)

      var get = Spectra_Bulk_V1_GetJobRequest()
      get.jobID = job.jobID
      #expect(try await client.getJob(get, metadata: Self.acme) == job)

      let list = try await client.listJobs(Spectra_Bulk_V1_ListJobsRequest(), metadata: Self.acme)
      #expect(list.jobs.map(\.jobID) == [job.jobID])
      #expect(list.nextPageToken.isEmpty)

      var close = Spectra_Bulk_V1_UpdateJobStateRequest()
      close.jobID = job.jobID
      close.state = .uploadComplete
      #expect(try await client.updateJobState(close, metadata: Self.acme).state == .uploadComplete)
      #expect(try await client.updateJobState(close, metadata: Self.acme).state == .uploadComplete)

      var delete = Spectra_Bulk_V1_DeleteJobRequest()
      delete.jobID = job.jobID
      await Self.expectCode(.failedPrecondition) { try await client.deleteJob(delete, metadata: Self.acme) }

      var abort = close
      abort.state = .aborted
      #expect(try await client.updateJobState(abort, metadata: Self.acme).state == .aborted)
      await Self.expectCode(.failedPrecondition) { try await client.updateJobState(close, metadata: Self.acme) }

      _ = try await client.deleteJob(delete, metadata: Self.acme)
      await Self.expectCode(.notFound) { try await client.getJob(get, metadata: Self.acme) }
    }
  }

  @Test("no, malformed or unknown tokens are UNAUTHENTICATED, a foreign x-tenant-id PERMISSION_DENIED")
  func authentication() async throws {
    try await self.withClient { client in
      for metadata: Metadata in [[:], ["authorization": "acme-token"], ["authorization": "Bearer nope"]] {
        await Self.expectCode(.unauthenticated) { try await client.createJob(Self.create(), metadata: metadata) }
        await Self.expectCode(.unauthenticated) {
          try await client.listJobs(Spectra_Bulk_V1_ListJobsRequest(), metadata: metadata)
        }
      }
      var foreign = Self.acme
      foreign.addString("other", forKey: "x-tenant-id")
      await Self.expectCode(.permissionDenied) { try await client.createJob(Self.create(), metadata: foreign) }
      var own = Self.acme
      own.addString("acme", forKey: "x-tenant-id")
      _ = try await client.createJob(Self.create(), metadata: own)
      // Refused calls created nothing.
      #expect(try await client.listJobs(Spectra_Bulk_V1_ListJobsRequest(), metadata: Self.acme).jobs.count == 1)
    }
  }

  @Test("another tenant's job is NOT_FOUND in every RPC, list included")
  func tenancy() async throws {
    try await self.withClient { client in
      let job = try await client.createJob(Self.create(), metadata: Self.acme)
      var get = Spectra_Bulk_V1_GetJobRequest()
      get.jobID = job.jobID
      await Self.expectCode(.notFound) { try await client.getJob(get, metadata: Self.other) }
      var update = Spectra_Bulk_V1_UpdateJobStateRequest()
      update.jobID = job.jobID
      update.state = .aborted
      await Self.expectCode(.notFound) { try await client.updateJobState(update, metadata: Self.other) }
      var delete = Spectra_Bulk_V1_DeleteJobRequest()
      delete.jobID = job.jobID
      await Self.expectCode(.notFound) { try await client.deleteJob(delete, metadata: Self.other) }
      #expect(try await client.listJobs(Spectra_Bulk_V1_ListJobsRequest(), metadata: Self.other).jobs.isEmpty)
      #expect(try await client.getJob(get, metadata: Self.acme).state == .open)
    }
  }

  @Test("invalid requests are INVALID_ARGUMENT naming the field")
  func validation() async throws {
    try await self.withClient { client in
      do {
        _ = try await client.createJob(Self.create(""), metadata: Self.acme)
        Issue.record("a job without object was created")
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("object is required"))
      }
      await Self.expectCode(.invalidArgument) {
        try await client.createJob(Self.create("t", .unspecified), metadata: Self.acme)
      }
      await Self.expectCode(.invalidArgument) {
        try await client.createJob(Self.create("t", .UNRECOGNIZED(42)), metadata: Self.acme)
      }
      var query = Self.create("t", .insert)
      query.query = "SELECT 1"
      await Self.expectCode(.invalidArgument) { try await client.createJob(query, metadata: Self.acme) }
      var update = Spectra_Bulk_V1_UpdateJobStateRequest()
      update.jobID = "bulk-job-x"
      await Self.expectCode(.invalidArgument) { try await client.updateJobState(update, metadata: Self.acme) }
      await Self.expectCode(.invalidArgument) {
        try await client.getJob(Spectra_Bulk_V1_GetJobRequest(), metadata: Self.acme)
      }
      var list = Spectra_Bulk_V1_ListJobsRequest()
      list.pageToken = "forged"
      await Self.expectCode(.invalidArgument) { try await client.listJobs(list, metadata: Self.acme) }
    }
  }

  @Test("a transition the diagram does not allow is FAILED_PRECONDITION")
  func transitions() async throws {
    try await self.withClient { client in
      let job = try await client.createJob(Self.create(), metadata: Self.acme)
      var update = Spectra_Bulk_V1_UpdateJobStateRequest()
      update.jobID = job.jobID
      for state: Spectra_Bulk_V1_JobState in [.open, .inProgress, .jobComplete, .failed] {
        update.state = state
        await Self.expectCode(.failedPrecondition) { try await client.updateJobState(update, metadata: Self.acme) }
      }
    }
  }

  @Test("request_id: a retry returns the same job, another body ALREADY_EXISTS")
  func requestID() async throws {
    try await self.withClient { client in
      var request = Self.create()
      request.requestID = "retry-me"
      let first = try await client.createJob(request, metadata: Self.acme)
      #expect(try await client.createJob(request, metadata: Self.acme).jobID == first.jobID)
      request.object = "sales"
      await Self.expectCode(.alreadyExists) { try await client.createJob(request, metadata: Self.acme) }
    }
  }

  @Test("listing pages with a state filter")
  func listing() async throws {
    try await self.withClient { client in
      var ids: [String] = []
      for _ in 0 ..< 5 {
        ids.append(try await client.createJob(Self.create(), metadata: Self.acme).jobID)
      }
      var abort = Spectra_Bulk_V1_UpdateJobStateRequest()
      abort.jobID = ids[1]
      abort.state = .aborted
      _ = try await client.updateJobState(abort, metadata: Self.acme)

      var request = Spectra_Bulk_V1_ListJobsRequest()
      request.limit = 2
      request.state = .open
      var seen: [String] = []
      repeat {
        let page = try await client.listJobs(request, metadata: Self.acme)
        #expect(page.jobs.count <= 2)
        seen += page.jobs.map(\.jobID)
        request.pageToken = page.nextPageToken
      } while !request.pageToken.isEmpty
      #expect(seen == [ids[4], ids[3], ids[2], ids[0]])
    }
  }
}
