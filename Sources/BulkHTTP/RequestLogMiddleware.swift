internal import Hummingbird
internal import Logging

/// Logs every REST request at debug level once it is answered: method, path (never the query,
/// which carries upload URL signatures), status, duration and `request_id` (the client's
/// `X-Request-ID`, or Hummingbird's own id for the request).
struct RequestLogMiddleware: RouterMiddleware {
  typealias Context = BulkRequestContext

  static let requestIDHeader = HTTPFields.Element.Name("X-Request-ID")!

  let logger: Logger

  func handle(
    _ request: Request,
    context: BulkRequestContext,
    next: (Request, BulkRequestContext) async throws -> Response
  ) async throws -> Response {
    let start = ContinuousClock.now
    let response = try await next(request, context)
    let elapsed = ContinuousClock.now - start
    self.logger.debug(
      "request answered",
      metadata: [
        "method": "\(request.method)",
        "path": "\(request.uri.path.prefix(200))",
        "status": "\(response.status.code)",
        "duration_ms": "\(Int(elapsed / .milliseconds(1)))",
        "request_id": "\(request.headers[Self.requestIDHeader].map { String($0.prefix(128)) } ?? context.id)",
      ]
    )
    return response
  }
}
