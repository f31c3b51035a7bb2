package import BulkCore
package import GRPCCore
package import Logging

/// Authenticates every RPC from its `authorization` and `x-tenant-id` metadata and runs the
/// handler, and any response stream it returns, with `Caller.tenant` set.
///
/// The services named in `openServices` (health and reflection, which probes and tools call
/// without a token and which show no tenant's data) are let through unauthenticated; any other,
/// including one added later, needs a token.
package struct AuthInterceptor: ServerInterceptor {
  private let directory: TenantDirectory
  private let logger: Logger
  private let openServices: Set<ServiceDescriptor>

  package init(directory: TenantDirectory, logger: Logger, openServices: [ServiceDescriptor] = []) {
    self.directory = directory
    self.logger = logger
    self.openServices = Set(openServices)
  }

  package func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    if self.openServices.contains(context.descriptor.service) {
      return try await next(request, context)
    }
    let tenant: Tenant
    do {
      tenant = try self.directory.authenticate(
        authorization: request.metadata.firstString("authorization"),
        tenantHeader: request.metadata.firstString("x-tenant-id")
      )
    } catch {
      self.logger.notice(
        "call refused",
        metadata: ["rpc": "\(context.descriptor.method)", "peer": "\(context.remotePeer)", "reason": "\(error.code)"]
      )
      throw RPCError(error)
    }
    self.logger.debug(
      "call authenticated",
      metadata: ["rpc": "\(context.descriptor.method)", "tenant_id": "\(tenant.id)"]
    )
    var response = try await Caller.$tenant.withValue(tenant) {
      try await next(request, context)
    }
    // A streaming response is produced after `next` returns: keep the tenant for it too.
    if case .success(var contents) = response.accepted {
      let producer = contents.producer
      contents.producer = { writer in
        try await Caller.$tenant.withValue(tenant) { try await producer(writer) }
      }
      response.accepted = .success(contents)
    }
    return response
  }
}

extension Metadata {
  fileprivate func firstString(_ key: String) -> String? {
    for value in self[stringValues: key] {
      return value
    }
    return nil
  }
}
