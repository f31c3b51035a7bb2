internal import BulkCore
internal import Hummingbird
internal import Logging

/// Answers every error of the routes after it with the JSON error body: `RESTError`s as they
/// are, `BulkError`s through `RESTError.init(_:during:)` (either way logging the cause, once),
/// Hummingbird's own errors (an unknown route) in the same shape, and anything else as a logged
/// 500 that tells the client nothing more.
struct RESTErrorMiddleware: RouterMiddleware {
  typealias Context = BulkRequestContext

  let logger: Logger

  func handle(
    _ request: Request,
    context: BulkRequestContext,
    next: (Request, BulkRequestContext) async throws -> Response
  ) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as RESTError {
      self.logCause(of: error, request: request, context: context)
      return RESTResponse.error(error)
    } catch let error as BulkError {
      let answer = RESTError(error)
      self.logCause(of: answer, request: request, context: context)
      return RESTResponse.error(answer)
    } catch let error as HTTPError {
      return RESTResponse.error(Self.restError(error, request: request))
    } catch {
      self.logger.error(
        "request failed",
        metadata: ["route": "\(request.method) \(context.endpointPath ?? "")", "error": "\(error)"]
      )
      return RESTResponse.error(
        RESTError(status: .internalServerError, code: .internal, message: "the server failed to answer the request")
      )
    }
  }

  /// Logs the cause of a `BulkError` the route failed with, once, here where it is answered.
  private func logCause(of error: RESTError, request: Request, context: BulkRequestContext) {
    guard let cause = error.cause else { return }
    self.logger.error(
      "call failed",
      metadata: [
        "call": "\(request.method) \(context.endpointPath ?? "")", "code": "\(error.code)", "error": "\(error.message)",
        "cause": "\(cause)",
      ]
    )
  }

  private static func restError(_ error: HTTPError, request: Request) -> RESTError {
    if error.status == .notFound {
      return RESTError(
        status: .notFound,
        code: .notFound,
        message: "no route for \(request.method) \(request.uri.path.prefix(200))"
      )
    }
    let code: BulkError.Code = error.status.kind == .clientError ? .invalidArgument : .internal
    return RESTError(status: error.status, code: code, message: error.body ?? error.status.reasonPhrase)
  }
}
