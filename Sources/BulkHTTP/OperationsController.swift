internal import Hummingbird

/// The routes for operators and tooling, without authentication: `/healthz`, `/metrics` and
/// the OpenAPI description of the REST surface.
struct OperationsController: Sendable {
  /// The metrics in the Prometheus text format, as of now.
  let exposition: @Sendable () -> [UInt8]
  let state: SurfaceState

  func addRoutes(to router: Router<BulkRequestContext>) {
    router.get("/healthz", use: self.health)
    router.get("/metrics", use: self.metrics)
    router.get("/v1/openapi.json", use: self.openAPI)
  }

  /// 200 `{"status":"ok"}` while serving; 503 `{"status":"shutting_down"}` once graceful
  /// shutdown began.
  @Sendable func health(_ request: Request, context: BulkRequestContext) throws -> Response {
    if self.state.isShuttingDown {
      return try RESTResponse.json(["status": "shutting_down"], status: .serviceUnavailable)
    }
    return try RESTResponse.json(["status": "ok"])
  }

  /// The metrics in the Prometheus text format.
  @Sendable func metrics(_ request: Request, context: BulkRequestContext) -> Response {
    Response(
      status: .ok,
      headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.exposition()))
    )
  }

  @Sendable func openAPI(_ request: Request, context: BulkRequestContext) -> Response {
    Response(
      status: .ok,
      headers: [.contentType: "application/json"],
      body: ResponseBody(byteBuffer: Self.openAPIDocument)
    )
  }

  /// The OpenAPI document, encoded once.
  private static let openAPIDocument = ByteBuffer(string: OpenAPIDocument.json)
}
