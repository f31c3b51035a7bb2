import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The job console's routes: its three files, served without a token, each with the headers that
/// keep it from running anything but its own script or being framed.
@Suite("Console routes")
struct ConsoleRoutesTests {
  static let policy = HTTPFields.Element.Name("Content-Security-Policy")!
  static let noSniff = HTTPFields.Element.Name("X-Content-Type-Options")!
  static let frameOptions = HTTPFields.Element.Name("X-Frame-Options")!
  static let referrerPolicy = HTTPFields.Element.Name("Referrer-Policy")!

  /// The files and their types.
  static let files = [
    ("/console/", "text/html; charset=utf-8"),
    ("/console", "text/html; charset=utf-8"),
    ("/console/console.css", "text/css; charset=utf-8"),
    ("/console/console.js", "text/javascript; charset=utf-8"),
  ]

  @Test("each file is served without a token, with its type and the security headers")
  func filesAndHeaders() async throws {
    try await RESTHarness.run { _, client in
      for (path, type) in Self.files {
        let response = try await client.call(.get, path, token: nil)
        #expect(response.status == .ok, "\(path)")
        #expect(response.headers[.contentType] == type, "\(path)")
        #expect(response.headers[Self.noSniff] == "nosniff", "\(path)")
        #expect(response.headers[Self.frameOptions] == "DENY", "\(path)")
        #expect(response.headers[Self.referrerPolicy] == "no-referrer", "\(path)")
        let directives = Set(
          (response.headers[Self.policy] ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        )
        #expect(directives.contains("default-src 'none'"), "\(path)")
        #expect(directives.contains("script-src 'self'"), "\(path)")
        #expect(directives.contains("style-src 'self'"), "\(path)")
        #expect(directives.contains("connect-src 'self'"), "\(path)")
        #expect(directives.contains("frame-ancestors 'none'"), "\(path)")
        #expect(!(response.headers[Self.policy] ?? "").contains("unsafe"), "\(path)")
        #expect(!response.data.isEmpty, "\(path)")
      }
    }
  }

  @Test("the page loads its script and style sheet from the server and has nothing inline")
  func pageHasNothingInline() async throws {
    try await RESTHarness.run { _, client in
      let page = try await client.call(.get, "/console/", token: nil).text
      #expect(page.contains(#"<script src="/console/console.js" defer></script>"#))
      #expect(page.contains(#"<link rel="stylesheet" href="/console/console.css">"#))
      #expect(page.components(separatedBy: "<script").count == 2)
      #expect(!page.contains("<style"))
      #expect(!page.contains(" style="))
      #expect(!page.contains("http://") && !page.contains("https://"), "no file from another origin")
      #expect(page.contains(#"<input id="token""#))
      #expect(page.contains(#"<label for="token">"#))
    }
  }

  @Test("the script keeps the token in session storage and sends it only as a bearer header")
  func scriptKeepsTheTokenOutOfURLsAndCookies() async throws {
    try await RESTHarness.run { _, client in
      let script = try await client.call(.get, "/console/console.js", token: nil).text
      #expect(script.contains(#"Authorization: "Bearer " + token"#))
      #expect(script.contains("sessionStorage"))
      #expect(!script.contains("localStorage"))
      #expect(!script.contains("document.cookie"))
      #expect(!script.contains("innerHTML"))
      #expect(script.contains(#"credentials: "omit""#))
    }
  }

  @Test("another method is 405 with Allow: GET; an unknown file is 404")
  func otherMethodsAndFiles() async throws {
    try await RESTHarness.run { _, client in
      let post = try await client.call(.post, "/console/", token: nil)
      #expect(post.status == .methodNotAllowed)
      #expect(post.headers[.allow] == "GET")
      let missing = try await client.call(.get, "/console/missing.js", token: nil)
      #expect(missing.status == .notFound)
    }
  }
}
