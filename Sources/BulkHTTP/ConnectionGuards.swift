internal import HTTPTypes
package import NIOCore
internal import NIOHTTPTypes
internal import Synchronization

/// The most connections one surface keeps open at once; the ones past it are closed as soon as
/// they are accepted, and the open ones are served as before.
package final class ConnectionCap: Sendable {
  /// The most open connections.
  package let limit: Int
  private let open = Atomic<Int>(0)

  /// A cap of `limit` connections, at least 1.
  package init(limit: Int) {
    precondition(limit > 0, "a connection cap must be at least 1")
    self.limit = limit
  }

  /// Connections open now.
  package var count: Int { self.open.load(ordering: .relaxed) }

  /// Counts a new connection; `false` (and not counted) when the cap is reached.
  func admit() -> Bool {
    while true {
      let current = self.open.load(ordering: .relaxed)
      guard current < self.limit else { return false }
      if self.open.compareExchange(expected: current, desired: current + 1, ordering: .relaxed).exchanged {
        return true
      }
    }
  }

  /// Forgets a connection `admit` counted.
  func release() {
    self.open.subtract(1, ordering: .relaxed)
  }

  /// A handler for a new connection's pipeline that counts it, or closes it past the cap.
  package func handler() -> any RemovableChannelHandler {
    ConnectionCapHandler(cap: self)
  }
}

/// Counts its connection against a `ConnectionCap` for as long as it is open; a connection past
/// the cap is closed when it becomes active, before anything is read from it.
final class ConnectionCapHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  private let cap: ConnectionCap
  private var admitted: Bool?

  init(cap: ConnectionCap) {
    self.cap = cap
  }

  func handlerAdded(context: ChannelHandlerContext) {
    let admitted = self.cap.admit()
    self.admitted = admitted
    if !admitted && context.channel.isActive {
      context.close(promise: nil)
    }
  }

  func channelActive(context: ChannelHandlerContext) {
    guard self.admitted != false else {
      context.close(promise: nil)
      return
    }
    context.fireChannelActive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    if self.admitted == true {
      self.admitted = nil
      self.cap.release()
    }
  }
}

/// Answers `Expect: 100-continue` with `100 Continue` as soon as the request head is read, so a
/// client such as curl sends its body at once instead of waiting (a second, for curl).
final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    if case .head(let head) = self.unwrapInboundIn(data),
      head.headerFields[.expect]?.lowercased() == "100-continue"
    {
      context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
    }
    context.fireChannelRead(data)
  }
}

/// Closes a connection on which nothing was read or written for the idle timeout (a stalled
/// upload body, a client that stopped reading), from `IdleStateHandler`'s events.
final class IdleConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is IdleStateHandler.IdleStateEvent {
      context.close(promise: nil)
      return
    }
    context.fireUserInboundEventTriggered(event)
  }
}
