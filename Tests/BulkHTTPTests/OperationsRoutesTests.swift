import BulkCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import BulkHTTP

/// `/healthz`, `/metrics`, unknown routes, and the surface on a real socket.
@Suite("REST operations routes", .timeLimit(.minutes(2)))
struct OperationsRoutesTests {
  @Test("/healthz is 200 while serving and 503 once shutdown began")
  func health() async throws {
    try await RESTHarness.run { _, client in
      let response = try await client.call(.get, "/healthz", token: nil)
      #expect(response.status == .ok)
      #expect(response.text == #"{"status":"ok"}"#)
    }
    let state = SurfaceState()
    let router = Router(context: BulkRequestContext.self)
    OperationsController(exposition: { [] }, state: state).addRoutes(to: router)
    state.beginShutdown()
    try await Application(router: router).test(.router) { client in
      let response = try await client.execute(uri: "/healthz", method: .get)
      #expect(response.status == .serviceUnavailable)
      #expect(String(buffer: response.body) == #"{"status":"shutting_down"}"#)
    }
  }

  @Test("/metrics counts requests by route and status, and their latency")
  func metrics() async throws {
    try await RESTHarness.run { _, client in
      _ = try await client.createJob()
      _ = try await client.call(.get, "/v1/bulk/jobs/bulk-job-missing")
      _ = try await client.call(.get, "/v1/bulk/jobs", token: nil)
      let response = try await client.call(.get, "/metrics", token: nil)
      #expect(response.status == .ok)
      #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
      let text = response.text
      #expect(text.contains(#"spectra_http_requests_total{method="POST",route="/v1/bulk/jobs",status="201"} 1"#))
      #expect(text.contains(#"spectra_http_requests_total{method="GET",route="/v1/bulk/jobs/{id}",status="404"} 1"#))
      #expect(text.contains(#"spectra_http_requests_total{method="GET",route="/v1/bulk/jobs",status="401"} 1"#))
      #expect(text.contains("# TYPE spectra_http_request_duration_seconds histogram"))
      #expect(
        text.contains(
          #"spectra_http_request_duration_seconds_count{method="POST",route="/v1/bulk/jobs",status="201"} 1"#
        )
      )
    }
  }

  @Test("with a metrics token, /metrics answers 401 to any other authorization; /healthz stays open")
  func metricsToken() async throws {
    let router = Router(context: BulkRequestContext.self)
    router.add(
      middleware: RESTErrorMiddleware(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    )
    OperationsController(
      exposition: { Array("spectra_up 1\n".utf8) },
      state: SurfaceState(),
      metricsTokenDigest: OperationsController.digest(of: "scrape-token")
    ).addRoutes(to: router)
    try await Application(router: router).test(.router) { client in
      let refused = [
        nil, "Bearer", "Bearer ", "Bearer scrape", "Bearer scrape-token-2", "Basic scrape-token", "scrape-token",
      ]
      for authorization in refused {
        var headers: HTTPFields = [:]
        headers[.authorization] = authorization
        let response = try await client.execute(uri: "/metrics", method: .get, headers: headers)
        #expect(response.status == .unauthorized, "\(authorization ?? "no header")")
        #expect(String(buffer: response.body).contains(#""code":"UNAUTHENTICATED""#))
      }
      for authorization in ["Bearer scrape-token", "bearer  scrape-token"] {
        var headers: HTTPFields = [:]
        headers[.authorization] = authorization
        let response = try await client.execute(uri: "/metrics", method: .get, headers: headers)
        #expect(response.status == .ok, "\(authorization)")
        #expect(String(buffer: response.body) == "spectra_up 1\n")
      }
      #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
    }
  }

  @Test("an unknown route is 404 in the error format")
  func unknownRoute() async throws {
    try await RESTHarness.run { _, client in
      for path in ["/v2/bulk/jobs", "/v1/bulk/jobs/bulk-job-1/unknown", "/bulk"] {
        let response = try await client.call(.get, path)
        #expect(response.status == .notFound)
        #expect(response.error.code == "NOT_FOUND")
        #expect(response.error.message == "no route for GET \(path)")
      }
    }
  }

  @Test(
    "a method a routed path does not take is 405 with the path's methods in Allow",
    arguments: [
      (HTTPRequest.Method.put, "/v1/bulk/jobs", "GET, POST"),
      (.post, "/bulk/jobs/bulk-job-1", "DELETE, GET, PATCH"),
      (.delete, "/v1/bulk/jobs/bulk-job-1/results", "GET"),
      (.get, "/v1/bulk/uploads/bulk-job-1", "PUT"),
      (.trace, "/healthz", "GET"),
      (.post, "/metrics", "GET"),
    ]
  )
  func methodNotAllowed(method: HTTPRequest.Method, path: String, allow: String) async throws {
    try await RESTHarness.run { _, client in
      let response = try await client.call(method, path)
      #expect(response.status == .methodNotAllowed)
      #expect(response.headers[.allow] == allow)
      #expect(response.error.code == "UNIMPLEMENTED")
      #expect(response.error.message == "\(method) is not allowed on \(path); it takes \(allow)")
    }
  }

  @Test("on a real socket: port 0 reports the bound port, and a download streams with its trailer")
  func liveSocket() async throws {
    let listening = Mutex<[Int]>([])
    let record: @Sendable (String, Int) -> Void = { _, port in listening.withLock { $0.append(port) } }
    try await RESTHarness.withStack(resultBufferSize: 64, onListening: record) { harness in
      try await harness.surface.application().test(.live) { client in
        let port = try #require(client.port)
        #expect(listening.withLock { $0 } == [port])
        #expect(try await client.call(.get, "/healthz", token: nil).status == .ok)
        let rows = (1 ... 30).map { "\($0),name \($0)\n" }.joined()
        let id = try await ResultRoutesTests.finishedJob("id,name\n" + rows, harness: harness, client: client)
        var accept: HTTPFields = [:]
        accept[.acceptEncoding] = "gzip"
        let response = try await client.call(.get, "/v1/bulk/jobs/\(id)/results", headers: accept)
        #expect(response.status == .ok)
        #expect(response.headers[.transferEncoding] == "chunked")
        #expect(response.trailerHeaders?[Header.recordCount] == "30")
        #expect(String(decoding: try gunzip(response.data), as: UTF8.self).hasSuffix("30,true,30,name 30\n"))
      }
    }
  }
}
