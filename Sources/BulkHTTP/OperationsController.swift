internal import BulkCore
internal import Crypto
internal import Foundation
internal import Hummingbird

/// The routes for operators and tooling, without tenant authentication: `/healthz`, `/metrics`
/// and the OpenAPI description of the REST surface. `/metrics` shows the job counts of all
/// tenants, so it can be put behind a token of its own.
struct OperationsController: Sendable {
  /// The metrics in the Prometheus text format, as of now.
  let exposition: @Sendable () -> [UInt8]
  let state: SurfaceState
  /// The SHA-256 digest (`digest(of:)`) of the bearer token `/metrics` needs; open when `nil`.
  var metricsTokenDigest: [UInt8]? = nil

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

  /// The metrics in the Prometheus text format; 401 without the metrics token when one is set.
  @Sendable func metrics(_ request: Request, context: BulkRequestContext) throws -> Response {
    if let expected = self.metricsTokenDigest {
      try Self.authorize(request.headers[.authorization], expected: expected)
    }
    return Response(
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

  /// The SHA-256 digest of a metrics token, as `metricsTokenDigest` keeps it.
  static func digest(of token: String) -> [UInt8] {
    Array(SHA256.hash(data: Data(token.utf8)))
  }

  /// Checks `Authorization: Bearer <token>` against the digest of the metrics token. Digests
  /// are compared, in constant time, so neither the token's length nor the position of the
  /// first wrong byte shows in the time taken.
  private static func authorize(_ authorization: String?, expected: [UInt8]) throws(BulkError) {
    let scheme = "bearer "
    guard let authorization, authorization.count > scheme.count,
      authorization.prefix(scheme.count).lowercased() == scheme
    else {
      throw BulkError(code: .unauthenticated, message: "/metrics needs 'Authorization: Bearer <metrics token>'")
    }
    let presented = Self.digest(of: authorization.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces))
    var difference: UInt8 = 0
    for (a, b) in zip(presented, expected) {
      difference |= a ^ b
    }
    guard difference == 0 else {
      throw BulkError(code: .unauthenticated, message: "the bearer token is not the metrics token")
    }
  }

  /// The OpenAPI document, encoded once.
  private static let openAPIDocument = ByteBuffer(string: OpenAPIDocument.json)
}
