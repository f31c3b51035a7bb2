package import BulkProto
package import GRPCCore

/// The standard `grpc.health.v1.Health` service: `SERVING` for "" (the server) and for each
/// service of `ServingState`, `NOT_SERVING` from the moment graceful shutdown begins. It needs no
/// token (`AuthInterceptor` lets it through), as load balancers and probes call it.
package struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  private let serving: ServingState

  package init(serving: ServingState) {
    self.serving = serving
  }

  package func check(
    request: Grpc_Health_V1_HealthCheckRequest,
    context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthCheckResponse {
    guard let status = self.serving.status(of: request.service) else {
      throw RPCError(code: .notFound, message: "service '\(request.service)' is not served here")
    }
    return Self.response(status)
  }

  package func list(
    request: Grpc_Health_V1_HealthListRequest,
    context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthListResponse {
    var response = Grpc_Health_V1_HealthListResponse()
    for service in self.serving.services {
      if let status = self.serving.status(of: service) {
        response.statuses[service] = Self.response(status)
      }
    }
    return response
  }

  /// The status now and on every change. When shutdown begins the watcher gets `NOT_SERVING`,
  /// then the call ends with `UNAVAILABLE`, so that it does not hold the server's drain open.
  package func watch(
    request: Grpc_Health_V1_HealthCheckRequest,
    response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    let known = self.serving.services.contains(request.service)
    if !known {
      var unknown = Grpc_Health_V1_HealthCheckResponse()
      unknown.status = .serviceUnknown
      try await response.write(unknown)
    }
    for await status in self.serving.watch() where known {
      try await response.write(Self.response(status))
    }
    throw RPCError(code: .unavailable, message: "the server is stopping")
  }

  private static func response(_ status: ServingState.Status) -> Grpc_Health_V1_HealthCheckResponse {
    var response = Grpc_Health_V1_HealthCheckResponse()
    switch status {
    case .serving: response.status = .serving
    case .notServing: response.status = .notServing
    }
    return response
  }
}
