package import BulkCore
package import Hummingbird

/// The request context of the REST surface: Hummingbird's core context and the tenant that
/// `TenantAuthMiddleware` authenticated.
package struct BulkRequestContext: RequestContext {
  /// Hummingbird's per-request storage (logger, route, path parameters).
  package var coreContext: CoreRequestContextStorage
  /// The authenticated tenant; `nil` on routes without bearer authentication.
  package var tenant: Tenant?

  /// A context for a new request, before authentication.
  package init(source: ApplicationRequestContextSource) {
    self.coreContext = .init(source: source)
    self.tenant = nil
  }

  /// The caller's tenant; a handler reached without authentication is a server bug.
  func authenticatedTenant() throws(BulkError) -> Tenant {
    guard let tenant = self.tenant else {
      throw BulkError(code: .internal, message: "the request was not authenticated")
    }
    return tenant
  }

  /// The job id in the route's `{id}` segment.
  func jobID() throws(BulkError) -> String {
    guard let id = self.parameters.get("id"), !id.isEmpty else { throw .invalidArgument("job_id is required") }
    return id
  }
}
