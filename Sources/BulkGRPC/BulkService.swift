package import BulkCore
package import BulkProto
package import GRPCCore
package import Logging
internal import Synchronization

/// The gRPC `spectra.bulk.v1.BulkService`: maps messages to `JobService` calls and `BulkError`s
/// to statuses. Authentication happened before, in `AuthInterceptor`.
package struct BulkService: Spectra_Bulk_V1_BulkService.SimpleServiceProtocol {
  private let jobs: JobService
  private let serving: ServingState
  private let logger: Logger

  /// - Parameters:
  ///   - serving: when it stops, uploads in flight end with `UNAVAILABLE` after keeping what they
  ///     stored.
  ///   - logger: where the cause of a failed call is logged, once.
  package init(jobs: JobService, serving: ServingState = ServingState(), logger: Logger) {
    self.jobs = jobs
    self.serving = serving
    self.logger = logger
  }

  package func createJob(
    request: Spectra_Bulk_V1_CreateJobRequest,
    context: ServerContext
  ) async throws -> Spectra_Bulk_V1_Job {
    let tenant = try Caller.current()
    return try await self.mapped(context) { () async throws(BulkError) -> Job in
      let spec = try JobSpec(request)
      return try await self.jobs.createJob(spec, requestID: request.requestID, tenant: tenant)
    }
  }

  package func getJob(
    request: Spectra_Bulk_V1_GetJobRequest,
    context: ServerContext
  ) async throws -> Spectra_Bulk_V1_Job {
    let tenant = try Caller.current()
    return try await self.mapped(context) { () async throws(BulkError) -> Job in
      try await self.jobs.job(id: request.jobID, tenant: tenant)
    }
  }

  package func listJobs(
    request: Spectra_Bulk_V1_ListJobsRequest,
    context: ServerContext
  ) async throws -> Spectra_Bulk_V1_ListJobsResponse {
    let tenant = try Caller.current()
    do {
      let page = try await self.jobs.listJobs(
        tenant: tenant,
        state: try request.state.domain(field: "state"),
        limit: Int(request.limit),
        pageToken: request.pageToken
      )
      var response = Spectra_Bulk_V1_ListJobsResponse()
      response.jobs = page.jobs.map(Spectra_Bulk_V1_Job.init)
      response.nextPageToken = page.nextPageToken
      return response
    } catch {
      throw self.failed(error, context)
    }
  }

  package func updateJobState(
    request: Spectra_Bulk_V1_UpdateJobStateRequest,
    context: ServerContext
  ) async throws -> Spectra_Bulk_V1_Job {
    let tenant = try Caller.current()
    return try await self.mapped(context) { () async throws(BulkError) -> Job in
      guard let state = try request.state.domain(field: "state") else {
        throw .invalidArgument("state is required: JOB_STATE_UPLOAD_COMPLETE or JOB_STATE_ABORTED")
      }
      return try await self.jobs.updateState(id: request.jobID, to: state, tenant: tenant)
    }
  }

  package func uploadJobData(
    request: RPCAsyncSequence<Spectra_Bulk_V1_UploadJobDataRequest, any Error>,
    context: ServerContext
  ) async throws -> Spectra_Bulk_V1_UploadJobDataResponse {
    let tenant = try Caller.current()
    do {
      let jobs = self.jobs
      // The stored bytes are made durable before the call ends either way; the client resumes
      // from the job's bytes_uploaded.
      let receipt = try await self.serving.untilStopping(
        "the upload ended; resume from the job's bytes_uploaded on another instance, or on this one once it is back"
      ) {
        try await jobs.upload(tenant: tenant, pieces: request.map { try UploadPiece($0) })
      }
      var response = Spectra_Bulk_V1_UploadJobDataResponse()
      response.jobID = receipt.jobID
      response.bytesUploaded = receipt.progress.bytesUploaded
      response.recordsReceived = receipt.progress.recordsReceived
      return response
    } catch let error as BulkError {
      throw self.failed(error, context)
    }
  }

  package func watchJob(
    request: Spectra_Bulk_V1_WatchJobRequest,
    response: RPCWriter<Spectra_Bulk_V1_Job>,
    context: ServerContext
  ) async throws {
    let tenant = try Caller.current()
    let watch: JobWatch
    do {
      watch = try await self.jobs.watch(id: request.jobID, tenant: tenant)
    } catch {
      throw self.failed(error, context)
    }
    let last = try await watch.run { changes in
      var last: Job?
      for await job in changes {
        try await response.write(Spectra_Bulk_V1_Job(job))
        last = job
      }
      return last
    }
    // The stream ends before a terminal state only when the server stops: the client watches
    // again elsewhere.
    guard let last, last.state.isTerminal else {
      throw RPCError(code: .unavailable, message: JobService.stoppingMessage(jobID: request.jobID))
    }
  }

  package func getJobResults(
    request: Spectra_Bulk_V1_GetJobResultsRequest,
    response: RPCWriter<Spectra_Bulk_V1_ResultChunk>,
    context: ServerContext
  ) async throws {
    let tenant = try Caller.current()
    do {
      // Hold back each piece until the next arrives, so the last one can carry the locator.
      let held = HeldPiece()
      let next = try await self.jobs.results(
        id: request.jobID,
        tenant: tenant,
        set: try request.resultSet.domain(),
        locator: request.locator,
        maxRecords: request.maxRecords
      ) { piece in
        if let previous = held.swap(piece) {
          try await response.write(Spectra_Bulk_V1_ResultChunk(previous, nextLocator: ""))
        }
      }
      if let last = held.swap(nil) {
        try await response.write(Spectra_Bulk_V1_ResultChunk(last, nextLocator: next))
      }
    } catch let error as BulkError {
      throw self.failed(error, context)
    }
  }

  package func deleteJob(
    request: Spectra_Bulk_V1_DeleteJobRequest,
    context: ServerContext
  ) async throws -> Spectra_Bulk_V1_DeleteJobResponse {
    let tenant = try Caller.current()
    do {
      try await self.jobs.deleteJob(id: request.jobID, tenant: tenant)
      return Spectra_Bulk_V1_DeleteJobResponse()
    } catch {
      throw self.failed(error, context)
    }
  }

  /// Runs a call that answers with a job, converting its `BulkError` to an `RPCError`.
  private func mapped(
    _ context: ServerContext,
    _ body: () async throws(BulkError) -> Job
  ) async throws(RPCError) -> Spectra_Bulk_V1_Job {
    do {
      return Spectra_Bulk_V1_Job(try await body())
    } catch {
      throw self.failed(error, context)
    }
  }

  /// The status a failed call answers with; its cause, if any, is logged here, once.
  private func failed(_ error: BulkError, _ context: ServerContext) -> RPCError {
    error.logCause(to: self.logger, call: "\(context.descriptor.method)")
    return RPCError(error)
  }
}

/// The result piece not yet sent.
private final class HeldPiece: Sendable {
  private let piece = Mutex<ResultPiece?>(nil)

  /// Stores `next` and returns what was held.
  func swap(_ next: ResultPiece?) -> ResultPiece? {
    self.piece.withLock { held in
      defer { held = next }
      return held
    }
  }
}
