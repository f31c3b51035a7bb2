internal import BulkCore
internal import Hummingbird
internal import Logging

/// Authenticates every request of the job routes from `Authorization: Bearer <token>` and the
/// optional `X-Tenant-ID`, with the same `TenantDirectory` rules as gRPC, and passes the tenant
/// on in the context.
struct TenantAuthMiddleware: RouterMiddleware {
  typealias Context = BulkRequestContext

  static let tenantHeader = HTTPFields.Element.Name("X-Tenant-ID")!

  let directory: TenantDirectory
  let logger: Logger

  func handle(
    _ request: Request,
    context: BulkRequestContext,
    next: (Request, BulkRequestContext) async throws -> Response
  ) async throws -> Response {
    var context = context
    do {
      context.tenant = try self.directory.authenticate(
        authorization: request.headers[.authorization],
        tenantHeader: request.headers[Self.tenantHeader]
      )
    } catch {
      // The reason code only: the token itself is never logged.
      self.logger.notice(
        "request refused",
        metadata: ["route": "\(request.method) \(context.endpointPath ?? "")", "reason": "\(error.code)"]
      )
      throw error
    }
    self.logger.debug(
      "request authenticated",
      metadata: [
        "route": "\(request.method) \(context.endpointPath ?? "")",
        "tenant_id": "\(context.tenant?.id ?? "")",
        "job_id": "\(context.parameters.get("id") ?? "")",
      ]
    )
    return try await next(request, context)
  }
}
