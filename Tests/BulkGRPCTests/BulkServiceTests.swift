import BulkCore
import BulkEngine
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

  func withClient(limits: Limits = Limits(), _ body: (Client) async throws -> Void) async throws {
    try await self.withClient(limits: limits) { client, _ in try await body(client) }
  }

  /// A client, and a function that runs SQL in the tenant acme's warehouse file.
  func withClient(
    limits: Limits = Limits(),
    _ body: (Client, (String) throws -> Void) async throws -> Void
  ) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-grpc-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let directory = TenantDirectory([
      (Tenant(id: "acme"), [TenantDirectory.digest(of: "acme-token")]),
      (Tenant(id: "other"), [TenantDirectory.digest(of: "other-token")]),
    ])
    let catalog = try SQLiteJobCatalog(path: "\(folder)/catalog.sqlite")
    let staging = SpooledStagingStore(
      storage: try FileJobStorage(stagingDirectory: "\(folder)/staging", resultsDirectory: "\(folder)/results"),
      limits: limits
    )
    let events = InProcessJobEvents()
    let warehouse = try SQLiteWarehouse(directory: "\(folder)/warehouse")
    let engine = JobEngine(
      catalog: catalog,
      warehouse: warehouse,
      staging: staging,
      events: events,
      limits: limits,
      settings: EngineSettings(workers: 2),
      logger: logger,
      tenant: { Tenant(id: $0) }
    )
    let jobs = JobService(
      catalog: catalog,
      staging: staging,
      processor: engine,
      events: events,
      limits: limits,
      logger: logger
    )
    let sql = { (text: String) throws in
      try SQLiteConnection(path: warehouse.path(of: Tenant(id: "acme"))).execute(text)
    }
    let service = BulkService(jobs: jobs, logger: logger)
    let transport = InProcessTransport()
    let server = GRPCServer(
      transport: transport.server,
      services: [service],
      interceptors: [AuthInterceptor(directory: directory, logger: logger)]
    )
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      try await withGRPCClient(transport: transport.client) { client in
        try await body(Client(wrapping: client), sql)
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

  /// Closes acme's job `jobID` (`UploadComplete`) and watches it to the end: the states it went
  /// through.
  static func closeAndWatch(_ jobID: String, client: Client) async throws -> [Spectra_Bulk_V1_JobState] {
    var close = Spectra_Bulk_V1_UpdateJobStateRequest()
    close.jobID = jobID
    close.state = .uploadComplete
    _ = try await client.updateJobState(close, metadata: Self.acme)
    var watch = Spectra_Bulk_V1_WatchJobRequest()
    watch.jobID = jobID
    return try await client.watchJob(watch, metadata: Self.acme) { response in
      var states: [Spectra_Bulk_V1_JobState] = []
      for try await update in response.messages {
        states.append(update.state)
      }
      return states
    }
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

  @Test("create, get, list, abort and delete; close twice")
  func lifecycle() async throws {
    try await self.withClient { client, sql in
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

      var delete = Spectra_Bulk_V1_DeleteJobRequest()
      delete.jobID = job.jobID
      await Self.expectCode(.failedPrecondition) { try await client.deleteJob(delete, metadata: Self.acme) }

      var abort = Spectra_Bulk_V1_UpdateJobStateRequest()
      abort.jobID = job.jobID
      abort.state = .aborted
      #expect(try await client.updateJobState(abort, metadata: Self.acme).state == .aborted)
      #expect(try await client.updateJobState(abort, metadata: Self.acme).state == .aborted)
      var close = abort
      close.state = .uploadComplete
      await Self.expectCode(.failedPrecondition) { try await client.updateJobState(close, metadata: Self.acme) }

      _ = try await client.deleteJob(delete, metadata: Self.acme)
      await Self.expectCode(.notFound) { try await client.getJob(get, metadata: Self.acme) }

      // Closing is idempotent, whether or not processing has started.
      try sql("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
      let second = try await client.createJob(Self.create(), metadata: Self.acme)
      close.jobID = second.jobID
      #expect(try await client.updateJobState(close, metadata: Self.acme).state == .uploadComplete)
      let again = try await client.updateJobState(close, metadata: Self.acme).state
      #expect([.uploadComplete, .inProgress, .jobComplete].contains(again))
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

  @Test("upload, close, watch to the end, and download the results")
  func wholeJob() async throws {
    try await self.withClient { client, sql in
      try sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
      let job = try await client.createJob(Self.create(), metadata: Self.acme)
      let csv = Data("id,name\n1,Ada\n2,\n3,\"Hopper, Grace\"\n".utf8)
      let uploaded = try await client.uploadJobData(metadata: Self.acme) { writer in
        var first = Spectra_Bulk_V1_UploadJobDataRequest()
        first.jobID = job.jobID
        first.data = csv.prefix(10)
        try await writer.write(first)
        var second = Spectra_Bulk_V1_UploadJobDataRequest()
        second.offset = 10
        second.data = csv.dropFirst(10)
        try await writer.write(second)
      }
      #expect(uploaded.bytesUploaded == Int64(csv.count))
      #expect(uploaded.recordsReceived == 3)

      let states = try await Self.closeAndWatch(job.jobID, client: client)
      #expect(states.last == .jobComplete)

      var get = Spectra_Bulk_V1_GetJobRequest()
      get.jobID = job.jobID
      let done = try await client.getJob(get, metadata: Self.acme)
      #expect(done.numberRecordsProcessed == 3)
      #expect(done.numberRecordsFailed == 1)
      #expect(done.progressPercentage == 100)

      var results = Spectra_Bulk_V1_GetJobResultsRequest()
      results.jobID = job.jobID
      let successful = try await client.getJobResults(results, metadata: Self.acme) { response in
        var data = Data()
        var locator = "unset"
        for try await chunk in response.messages {
          data.append(chunk.data)
          locator = chunk.nextLocator
        }
        return (String(decoding: data, as: UTF8.self), locator)
      }
      #expect(successful.0 == "_record,_created,id,name\n1,true,1,Ada\n3,true,3,\"Hopper, Grace\"\n")
      #expect(successful.1 == "")
      results.resultSet = .failed
      let failed = try await client.getJobResults(results, metadata: Self.acme) { response in
        var data = Data()
        for try await chunk in response.messages { data.append(chunk.data) }
        return String(decoding: data, as: UTF8.self)
      }
      #expect(failed.hasPrefix("_record,_error,id,name\n2,NOT_NULL: "))
    }
  }

  @Test("results before a terminal state are FAILED_PRECONDITION; a query set on an insert job INVALID_ARGUMENT")
  func resultsRefused() async throws {
    try await self.withClient { client in
      let job = try await client.createJob(Self.create(), metadata: Self.acme)
      var results = Spectra_Bulk_V1_GetJobResultsRequest()
      results.jobID = job.jobID
      await Self.expectCode(.failedPrecondition) {
        try await client.getJobResults(results, metadata: Self.acme) { response in
          for try await _ in response.messages {}
        }
      }
      var abort = Spectra_Bulk_V1_UpdateJobStateRequest()
      abort.jobID = job.jobID
      abort.state = .aborted
      _ = try await client.updateJobState(abort, metadata: Self.acme)
      results.resultSet = .query
      await Self.expectCode(.invalidArgument) {
        try await client.getJobResults(results, metadata: Self.acme) { response in
          for try await _ in response.messages {}
        }
      }
      await Self.expectCode(.notFound) {
        try await client.getJobResults(results, metadata: Self.other) { response in
          for try await _ in response.messages {}
        }
      }
    }
  }

  @Test("a record-batch job's results come back as typed RecordBatch rows")
  func typedResults() async throws {
    try await self.withClient { client, sql in
      try sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
      var create = Self.create()
      create.contentType = .recordBatch
      let job = try await client.createJob(create, metadata: Self.acme)
      func value(_ build: (inout Spectra_Bulk_V1_Value) -> Void) -> Spectra_Bulk_V1_Value {
        var value = Spectra_Bulk_V1_Value()
        build(&value)
        return value
      }
      var batch = Spectra_Bulk_V1_RecordBatch()
      batch.columns = ["id", "name"]
      for (id, name) in [(1, "Ada"), (2, nil), (3, "Grace")] as [(Int64, String?)] {
        var row = Spectra_Bulk_V1_Row()
        row.values = [
          value { $0.intValue = id },
          value { if let name { $0.stringValue = name } else { $0.nullValue = .nullValue } },
        ]
        batch.rows.append(row)
      }
      var message = Spectra_Bulk_V1_UploadJobDataRequest()
      message.jobID = job.jobID
      message.records = batch
      let upload = message
      let uploaded = try await client.uploadJobData(metadata: Self.acme) { writer in
        try await writer.write(upload)
      }
      #expect(uploaded.recordsReceived == 3)
      _ = try await Self.closeAndWatch(job.jobID, client: client)
      var results = Spectra_Bulk_V1_GetJobResultsRequest()
      results.jobID = job.jobID
      let chunks = try await client.getJobResults(results, metadata: Self.acme) { response in
        var chunks: [Spectra_Bulk_V1_ResultChunk] = []
        for try await chunk in response.messages { chunks.append(chunk) }
        return chunks
      }
      let rows = chunks.flatMap(\.records.rows)
      #expect(chunks.first?.records.columns == ["_record", "_created", "id", "name"])
      #expect(chunks.allSatisfy { $0.data.isEmpty })
      #expect(rows.count == 2)
      #expect(rows.first?.values.map(\.intValue) == [1, 0, 1, 0])
      #expect(rows.first?.values[1].boolValue == true)
      #expect(rows.last?.values[3].stringValue == "Grace")
      results.resultSet = .failed
      let failed = try await client.getJobResults(results, metadata: Self.acme) { response in
        var rows: [Spectra_Bulk_V1_Row] = []
        for try await chunk in response.messages { rows += chunk.records.rows }
        return rows
      }
      #expect(failed.count == 1)
      #expect(failed.first?.values[1].stringValue.hasPrefix("NOT_NULL: ") == true)
    }
  }
}
