internal import Hummingbird

/// The job console: one HTML page, its style sheet and its script, served from `/console/`.
///
/// The page holds no data and no privileges of its own: it asks for the tenant's token, keeps it
/// in the browser's session storage and calls the REST job routes with `Authorization: Bearer`,
/// as any client would. The files are compiled into the binary (`PackageResources`), so the
/// console needs nothing installed beside it.
///
/// Every response carries a strict Content-Security-Policy (scripts, styles and requests from
/// this origin only, nothing inline, no framing), `X-Content-Type-Options: nosniff` and
/// `Referrer-Policy: no-referrer`.
struct ConsoleController: Sendable {
  /// The console's policy: its own files and its own origin's API, nothing inline, never inside
  /// a frame, no form posted anywhere.
  static let contentSecurityPolicy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].joined(separator: "; ")

  static let page = ByteBuffer(bytes: PackageResources.index_html)
  static let styleSheet = ByteBuffer(bytes: PackageResources.console_css)
  static let script = ByteBuffer(bytes: PackageResources.console_js)

  func addRoutes(to router: Router<BulkRequestContext>) {
    // The router ignores a trailing slash: this serves `/console` and `/console/`; the page
    // names its files by absolute paths, so it works from both.
    router.get("/console", use: self.index)
    router.get("/console/console.css", use: self.css)
    router.get("/console/console.js", use: self.js)
  }

  @Sendable func index(_ request: Request, context: BulkRequestContext) -> Response {
    Self.file(Self.page, type: "text/html; charset=utf-8")
  }

  @Sendable func css(_ request: Request, context: BulkRequestContext) -> Response {
    Self.file(Self.styleSheet, type: "text/css; charset=utf-8")
  }

  @Sendable func js(_ request: Request, context: BulkRequestContext) -> Response {
    Self.file(Self.script, type: "text/javascript; charset=utf-8")
  }

  /// The headers of every console response.
  static let securityHeaders: HTTPFields = [
    HTTPFields.Element.Name("Content-Security-Policy")!: Self.contentSecurityPolicy,
    HTTPFields.Element.Name("X-Content-Type-Options")!: "nosniff",
    HTTPFields.Element.Name("X-Frame-Options")!: "DENY",
    HTTPFields.Element.Name("Referrer-Policy")!: "no-referrer",
    HTTPFields.Element.Name("Cross-Origin-Opener-Policy")!: "same-origin",
    HTTPFields.Element.Name("Cross-Origin-Resource-Policy")!: "same-origin",
    .cacheControl: "no-cache",
  ]

  private static func file(_ body: ByteBuffer, type: String) -> Response {
    var headers = Self.securityHeaders
    headers[.contentType] = type
    return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
  }
}
