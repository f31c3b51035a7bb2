import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server on a free port of 127.0.0.1, answering with a closure: the stand-in
/// for the container credentials endpoint, instance metadata and a misbehaving S3.
final class LocalHTTPServer: Sendable {
  struct Request: Sendable {
    var method: String
    var uri: String
    var headers: [String: String]
    var body: String
  }

  /// What to send back; `nil` from the handler closes the connection without an answer.
  struct Response: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: String = ""
  }

  typealias Handler = @Sendable (Request) -> Response?

  let channel: any Channel
  /// The requests received, in order.
  final class Log: Sendable {
    let requests = Mutex<[Request]>([])
  }

  let log = Log()
  var port: Int { self.channel.localAddress!.port! }
  var endpoint: String { "http://127.0.0.1:\(self.port)" }

  init(handler: @escaping Handler) async throws {
    let log = self.log
    self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap {
          channel.pipeline.addHandler(Answerer(handler: handler, log: log))
        }
      }
      .bind(host: "127.0.0.1", port: 0)
      .get()
  }

  /// The requests received so far.
  var received: [Request] { self.log.requests.withLock { $0 } }

  func stop() async throws {
    try await self.channel.close()
  }

  private final class Answerer: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let handler: Handler
    let log: Log
    var head: HTTPRequestHead?
    var body = ""

    init(handler: @escaping Handler, log: Log) {
      self.handler = handler
      self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch self.unwrapInboundIn(data) {
      case .head(let head):
        self.head = head
        self.body = ""
      case .body(let buffer):
        self.body += String(buffer: buffer)
      case .end:
        guard let head = self.head else { return }
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        let request = Request(method: head.method.rawValue, uri: head.uri, headers: headers, body: self.body)
        self.log.requests.withLock { $0.append(request) }
        guard let response = self.handler(request) else {
          context.close(promise: nil)
          return
        }
        var responseHeaders = HTTPHeaders(response.headers)
        responseHeaders.replaceOrAdd(name: "Content-Length", value: String(response.body.utf8.count))
        let responseHead = HTTPResponseHead(
          version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: responseHeaders
        )
        context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
          context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
      }
    }
  }
}
