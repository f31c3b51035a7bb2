internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// A TCP proxy on a loopback port in front of the server that cuts its first connection once
/// `cutAfter` bytes have gone from the client to the server (both sides see the connection
/// drop, as when a network fails); later connections pass untouched.
///
/// Plain sockets, each connection pumped by two threads of its own, so that nothing here waits
/// on the threads that run Swift tasks.
final class CuttingProxy: Sendable {
  /// The port clients connect to.
  let port: Int
  private let listener: Int32
  private let upstreamPort: Int
  private let cutAfter: Int
  private let state = Mutex(State())

  private struct State {
    var connections = 0
    var cuts = 0
  }

  /// Connections cut so far.
  var cuts: Int { self.state.withLock { $0.cuts } }

  init(upstreamPort: Int, cutAfter: Int) throws {
    self.upstreamPort = upstreamPort
    self.cutAfter = cutAfter
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = Self.loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
        bind(listener, raw, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, raw, &length) == 0
      }
    }
    guard bound else {
      close(listener)
      throw POSIXError(.EADDRNOTAVAIL)
    }
    self.listener = listener
    self.port = Int(UInt16(bigEndian: address.sin_port))
    Thread.detachNewThread { self.acceptLoop() }
  }

  /// Stops accepting connections.
  func stop() {
    shutdown(self.listener, Int32(SHUT_RDWR))
  }

  deinit {
    close(self.listener)
  }

  private func acceptLoop() {
    while true {
      let client = accept(self.listener, nil, nil)
      guard client >= 0 else {
        if errno == EINTR { continue }
        return
      }
      let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var address = Self.loopback(port: self.upstreamPort)
      let connected = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
      }
      guard connected else {
        close(client)
        close(upstream)
        continue
      }
      let first = self.state.withLock { state in
        state.connections += 1
        return state.connections == 1
      }
      let connection = ProxiedConnection(client: client, upstream: upstream)
      Thread.detachNewThread {
        connection.pump(from: client, to: upstream, limit: first ? self.cutAfter : nil) {
          self.state.withLock { $0.cuts += 1 }
        }
      }
      Thread.detachNewThread { connection.pump(from: upstream, to: client, limit: nil) {} }
    }
  }

  private static func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
  }
}

/// The two sockets of one proxied connection; closed once both directions have ended.
private final class ProxiedConnection: Sendable {
  let client: Int32
  let upstream: Int32
  private let ended = Mutex(0)

  init(client: Int32, upstream: Int32) {
    self.client = client
    self.upstream = upstream
  }

  /// Copies `source` to `destination` until either ends or, with a `limit`, until that many
  /// bytes have passed: then both sockets are shut down and `onCut` runs.
  func pump(from source: Int32, to destination: Int32, limit: Int?, onCut: () -> Void) {
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    var passed = 0
    loop: while true {
      let allowed = limit.map { min(buffer.count, $0 - passed) } ?? buffer.count
      if allowed <= 0 {
        shutdown(self.client, Int32(SHUT_RDWR))
        shutdown(self.upstream, Int32(SHUT_RDWR))
        onCut()
        break
      }
      let count = read(source, &buffer, allowed)
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      var written = 0
      while written < count {
        // MSG_NOSIGNAL: after a cut the other side is shut down, and a plain write would raise
        // SIGPIPE, which ends the whole test process.
        let result = buffer[written ..< count].withUnsafeBytes {
          send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
        }
        guard result > 0 else { break loop }
        written += result
      }
      passed += count
    }
    shutdown(destination, Int32(SHUT_WR))
    let both = self.ended.withLock { ended in
      ended += 1
      return ended == 2
    }
    if both {
      close(self.client)
      close(self.upstream)
    }
  }
}
