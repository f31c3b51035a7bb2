public import AsyncHTTPClient
package import NIOCore
package import NIOHTTP1

/// The HTTP client that the S3 client and the credential providers share: one async-http-client
/// connection pool, shut down with ``shutdown()``.
public final class S3HTTPTransport: Sendable {
  /// The underlying client.
  public let client: HTTPClient
  private let owned: Bool

  /// A transport on its own `HTTPClient` (shared event loops), which ``shutdown()`` shuts down.
  public init() {
    var configuration = HTTPClient.Configuration()
    configuration.decompression = .disabled
    configuration.redirectConfiguration = .disallow
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
    self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    self.owned = true
  }

  /// A transport on `client`, which stays the caller's to shut down.
  public init(client: HTTPClient) {
    self.client = client
    self.owned = false
  }

  /// Shuts the client down if this transport made it.
  public func shutdown() async throws {
    if self.owned { try await self.client.shutdown() }
  }

  /// A response whose body has been read whole.
  package struct Response: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: ByteBuffer
  }

  /// Sends a request and reads the whole response body, refusing more than `limit` bytes.
  package func send(
    method: HTTPMethod,
    url: String,
    headers: [(String, String)],
    body: ByteBuffer? = nil,
    timeout: TimeAmount,
    limit: Int = 16 << 20
  ) async throws -> Response {
    var request = HTTPClientRequest(url: url)
    request.method = method
    request.headers = HTTPHeaders(headers)
    if let body { request.body = .bytes(body) }
    let response = try await self.client.execute(request, timeout: timeout)
    let bytes = try await response.body.collect(upTo: limit)
    return Response(status: Int(response.status.code), headers: response.headers, body: bytes)
  }
}
