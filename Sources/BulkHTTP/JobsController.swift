internal import BulkCore
internal import Foundation
internal import Hummingbird

/// The job routes: create, get, list, change state, delete, and the signed upload URL. Each maps
/// the request to one `JobService` call; the rules live there.
struct JobsController: Sendable {
  /// Bytes a create or state-change body may have; real ones are a few hundred.
  static let maxBodySize = 64 << 10

  let jobs: JobService
  let signer: UploadURLSigner
  let uploadURLLifetime: Duration
  /// The scheme, host and port upload URLs start with when configured (for a proxy in front).
  let publicBaseURL: String?
  /// `https` when the surface serves TLS, else `http`.
  let scheme: String
  /// The listen address, for upload URLs of a request without a usable `Host`.
  let host: String
  let state: SurfaceState
  let now: @Sendable () -> Date

  /// Registers the routes on a group that authenticates (`…/jobs`).
  func addRoutes(to group: RouterGroup<BulkRequestContext>) {
    group.post(use: self.create)
    group.get(use: self.list)
    group.get("{id}", use: self.get)
    group.patch("{id}", use: self.update)
    group.delete("{id}", use: self.delete)
    group.get("{id}/upload-url", use: self.uploadURL)
  }

  /// `POST …/jobs` → 201 and the job (the same job again for a retried `request_id`).
  @Sendable func create(_ request: Request, context: BulkRequestContext) async throws -> Response {
    let tenant = try context.authenticatedTenant()
    let create = try CreateJobRequest(json: try await Self.body(of: request))
    let job = try await self.jobs.createJob(create.spec, requestID: create.requestID, tenant: tenant)
    return try RESTResponse.json(
      JobResource(job),
      status: .created,
      headers: [.location: "/v1/bulk/jobs/\(job.id)"]
    )
  }

  /// `GET …/jobs/{id}`.
  @Sendable func get(_ request: Request, context: BulkRequestContext) async throws -> Response {
    let job = try await self.jobs.job(id: try context.jobID(), tenant: try context.authenticatedTenant())
    return try RESTResponse.json(JobResource(job))
  }

  /// `GET …/jobs?state=&limit=&offset=` → `{"jobs":[…],"next_offset":"…"}`, newest first;
  /// `next_offset` is always present and empty on the last page.
  @Sendable func list(_ request: Request, context: BulkRequestContext) async throws -> Response {
    let tenant = try context.authenticatedTenant()
    let query = try QueryParameters(request, accepted: ["state", "limit", "offset"])
    let state = try query.string("state").flatMap(Self.state)
    let limit = try query.integer("limit") ?? 0
    let page = try await self.jobs.listJobs(
      tenant: tenant,
      state: state,
      limit: Int(clamping: limit),
      pageToken: query.string("offset") ?? "",
      pageTokenField: "offset"
    )
    return try RESTResponse.json(JobList(jobs: page.jobs.map(JobResource.init), nextOffset: page.nextPageToken))
  }

  /// `PATCH …/jobs/{id}` with `{"state":"UploadComplete"}` (close) or `{"state":"Aborted"}`.
  @Sendable func update(_ request: Request, context: BulkRequestContext) async throws -> Response {
    let tenant = try context.authenticatedTenant()
    let id = try context.jobID()
    let change = try JobStateRequest(json: try await Self.body(of: request))
    let job = try await self.jobs.updateState(id: id, to: change.state, tenant: tenant)
    return try RESTResponse.json(JobResource(job))
  }

  /// `DELETE …/jobs/{id}` → 204, for a job in a terminal state.
  @Sendable func delete(_ request: Request, context: BulkRequestContext) async throws -> Response {
    try await self.jobs.deleteJob(id: try context.jobID(), tenant: try context.authenticatedTenant())
    return Response(status: .noContent)
  }

  /// `GET …/jobs/{id}/upload-url` → `{"upload_url":"…","expires_at":"…"}`.
  ///
  /// Only the job's existence is checked here; whether it still takes data is the upload's
  /// question, answered by `JobService.upload` when the URL is used.
  @Sendable func uploadURL(_ request: Request, context: BulkRequestContext) async throws -> Response {
    let tenant = try context.authenticatedTenant()
    let job = try await self.jobs.job(id: try context.jobID(), tenant: tenant)
    let expires = Int64(self.now().timeIntervalSince1970) + self.uploadURLLifetime.components.seconds
    let url =
      self.base(for: request) + self.signer.pathAndQuery(jobID: job.id, tenantID: tenant.id, expires: expires)
    return try RESTResponse.json(
      UploadURL(uploadURL: url, expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)).restTimestamp)
    )
  }

  /// `scheme://host[:port]` of upload URLs: the configured public base, else the `Host` the
  /// client reached this server by, else the listen address.
  private func base(for request: Request) -> String {
    if let publicBaseURL = self.publicBaseURL, !publicBaseURL.isEmpty {
      return publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
    }
    if let authority = request.head.authority, !authority.isEmpty, authority.count <= 255,
      authority.allSatisfy({ $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII || ".-:[]".contains($0) })
    {
      return "\(self.scheme)://\(authority)"
    }
    let host = self.host.contains(":") ? "[\(self.host)]" : self.host
    return "\(self.scheme)://\(host):\(self.state.boundPort ?? 0)"
  }

  private static func state(_ value: String) throws(BulkError) -> JobState? {
    guard !value.isEmpty else { return nil }
    guard let state = JobState(named: value) else {
      let names = JobState.allCases.map(\.rawValue).joined(separator: ", ")
      throw .invalidArgument("state '\(value.prefix(40))' is not one of \(names)")
    }
    return state
  }

  /// The whole body of a small JSON request.
  private static func body(of request: Request) async throws -> Data {
    var data = Data()
    for try await buffer in request.body {
      guard data.count + buffer.readableBytes <= Self.maxBodySize else {
        throw BulkError.invalidArgument("the request body is over \(Self.maxBodySize >> 10) KiB")
      }
      data.append(contentsOf: buffer.readableBytesView)
    }
    return data
  }

  /// `{"jobs":[…],"next_offset":"…"}`.
  private struct JobList: Encodable {
    var jobs: [JobResource]
    var nextOffset: String

    enum CodingKeys: String, CodingKey {
      case jobs
      case nextOffset = "next_offset"
    }
  }

  /// `{"upload_url":"…","expires_at":"…"}`.
  private struct UploadURL: Encodable {
    var uploadURL: String
    var expiresAt: String

    enum CodingKeys: String, CodingKey {
      case uploadURL = "upload_url"
      case expiresAt = "expires_at"
    }
  }
}
