internal import Hummingbird
internal import Metrics

/// Counts requests and records their latency, by method, route template and status, with
/// swift-metrics through the surface's own factory (so `/metrics` shows them whether or not
/// the process bootstrapped `MetricsSystem`).
///
/// The latency runs until the response body is written, so a long download counts whole.
struct RequestMetricsMiddleware: RouterMiddleware {
  typealias Context = BulkRequestContext

  /// Requests answered, labelled `method`, `route`, `status`.
  static let requestsName = "spectra_http_requests_total"
  /// Seconds from request to the end of the response body, same labels.
  static let durationName = "spectra_http_request_duration_seconds"

  let factory: any MetricsFactory

  func handle(
    _ request: Request,
    context: BulkRequestContext,
    next: (Request, BulkRequestContext) async throws -> Response
  ) async throws -> Response {
    let start = ContinuousClock.now
    do {
      var response = try await next(request, context)
      let status = response.status
      let body = response.body
      response.body = ResponseBody(contentLength: body.contentLength) { writer in
        defer { self.record(request, context: context, status: status, since: start) }
        try await body.write(writer)
      }
      return response
    } catch {
      self.record(request, context: context, status: .internalServerError, since: start)
      throw error
    }
  }

  private func record(
    _ request: Request,
    context: BulkRequestContext,
    status: HTTPResponse.Status,
    since start: ContinuousClock.Instant
  ) {
    // The route template ("/v1/bulk/jobs/{id}"), never the path, keeps the label set small.
    let labels = [
      ("method", request.method.rawValue),
      ("route", context.endpointPath ?? "NotFound"),
      ("status", String(status.code)),
    ]
    Counter(label: Self.requestsName, dimensions: labels, factory: self.factory).increment()
    Timer(label: Self.durationName, dimensions: labels, factory: self.factory)
      .record(duration: ContinuousClock.now - start)
  }
}
