internal import BulkCore
internal import Foundation
internal import Hummingbird
internal import Logging

/// `PUT <upload_url>`: the signed upload route. It needs no `Authorization` header: the URL's
/// signature names the job and tenant. The body is streamed into `JobService.upload`.
struct UploadController: Sendable {
  let jobs: JobService
  let directory: TenantDirectory
  let signer: UploadURLSigner
  let now: @Sendable () -> Date
  let logger: Logger
  /// Shared by the routes of both prefixes: one REST upload per job at a time.
  let gate = UploadGate()

  /// Registers the route on a group without authentication (`…/uploads`).
  func addRoutes(to group: RouterGroup<BulkRequestContext>) {
    group.put("{id}", use: self.upload)
  }

  /// Appends the body at its `Content-Range` start, or without one at the job's
  /// `bytes_uploaded` (a plain `PUT` appends) → `{"job_id","bytes_uploaded","records_received"}`.
  /// While one `PUT` to a job runs, another is refused with 409.
  @Sendable func upload(_ request: Request, context: BulkRequestContext) async throws -> Response {
    let id = try context.jobID()
    let query = request.uri.queryParameters
    let grant = try self.signer.verify(
      jobID: id,
      tenant: query["tenant"].map(String.init),
      expires: query["expires"].map(String.init),
      signature: query["signature"].map(String.init),
      now: self.now()
    )
    guard let tenant = self.directory.tenant(id: grant.tenantID) else {
      throw BulkError(code: .permissionDenied, message: "the upload URL's tenant is not served by this server")
    }
    guard self.gate.enter(id) else {
      throw BulkError.failedPrecondition(
        "another upload to job \(id) is in progress; send the next PUT when it has been answered"
      )
    }
    defer { self.gate.leave(id) }
    let job = try await self.jobs.job(id: id, tenant: tenant)
    try UploadMediaType.check(
      contentType: request.headers[.contentType],
      contentEncoding: request.headers[.contentEncoding],
      for: job
    )
    let contentLength = request.headers[.contentLength].flatMap { Int64($0) }
    let offset = try request.headers[.contentRange].map { header throws(BulkError) in
      try ContentRange(header: header, contentLength: contentLength).start
    }
    let receipt: UploadReceipt
    do {
      receipt = try await self.jobs.upload(
        tenant: tenant,
        pieces: UploadPieces(jobID: id, offset: offset ?? job.bytesUploaded, body: request.body)
      )
    } catch let error as BulkError {
      throw RESTError(error, during: .upload)
    }
    self.logger.debug(
      "upload stored",
      metadata: [
        "tenant_id": "\(tenant.id)", "job_id": "\(id)", "bytes_uploaded": "\(receipt.progress.bytesUploaded)",
      ]
    )
    return try RESTResponse.json(
      Receipt(
        jobID: receipt.jobID,
        bytesUploaded: receipt.progress.bytesUploaded,
        recordsReceived: receipt.progress.recordsReceived
      )
    )
  }

  /// `{"job_id":…,"bytes_uploaded":…,"records_received":…}`.
  private struct Receipt: Encodable {
    var jobID: String
    var bytesUploaded: Int64
    var recordsReceived: Int64

    enum CodingKeys: String, CodingKey {
      case jobID = "job_id"
      case bytesUploaded = "bytes_uploaded"
      case recordsReceived = "records_received"
    }
  }
}
