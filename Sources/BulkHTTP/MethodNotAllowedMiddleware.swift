internal import BulkCore
internal import Hummingbird

/// Answers a request whose path is routed but whose method is not with `405 Method Not Allowed`
/// and an `Allow` header listing the methods the path takes (RFC 9110 §15.5.6), instead of the
/// router's 404.
///
/// Added to the router after every route, so it wraps only the router's not-found responder.
struct MethodNotAllowedMiddleware: RouterMiddleware {
  typealias Context = BulkRequestContext

  /// One routed path: its segments (`{name}` matches any one segment) and its methods.
  private struct RoutedPath: Sendable {
    var segments: [Substring]
    var methods: [String]

    func matches(_ path: [Substring]) -> Bool {
      path.count == self.segments.count
        && zip(path, self.segments).allSatisfy { given, routed in routed.hasPrefix("{") || given == routed }
    }
  }

  private let paths: [RoutedPath]

  /// - Parameter routes: the router's routes, `(method, path)` with `{name}` captures.
  init(routes: [(method: String, path: String)]) {
    var methods: [String: Set<String>] = [:]
    for route in routes {
      methods[route.path, default: []].insert(route.method)
    }
    self.paths = methods.map { path, methods in
      RoutedPath(segments: path.split(separator: "/"), methods: methods.sorted())
    }
  }

  func handle(
    _ request: Request,
    context: BulkRequestContext,
    next: (Request, BulkRequestContext) async throws -> Response
  ) async throws -> Response {
    let segments = request.uri.path.split(separator: "/")
    guard let routed = self.paths.first(where: { $0.matches(segments) }) else {
      return try await next(request, context)
    }
    let allowed = routed.methods.joined(separator: ", ")
    var response = RESTResponse.error(
      RESTError(
        status: .methodNotAllowed,
        code: .unimplemented,
        message: "\(request.method) is not allowed on \(request.uri.path.prefix(200)); it takes \(allowed)"
      )
    )
    response.headers[.allow] = allowed
    return response
  }
}
