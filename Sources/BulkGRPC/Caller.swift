package import BulkCore
internal import GRPCCore

/// The authenticated tenant of the RPC being served, set by `AuthInterceptor`.
package enum Caller {
  @TaskLocal package static var tenant: Tenant?

  /// The caller's tenant; a handler reached without authentication is a server bug.
  static func current() throws(RPCError) -> Tenant {
    guard let tenant = Self.tenant else {
      throw RPCError(code: .internalError, message: "the call was not authenticated")
    }
    return tenant
  }
}
