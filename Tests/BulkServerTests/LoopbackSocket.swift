import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a port on 127.0.0.1, for tests that need what no client library
/// does: a request sent in pieces, a connection held open without a request, a peer that closes.
final class LoopbackSocket {
  private let descriptor: Int32

  init(port: Int) throws {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard result == 0 else {
      let code = errno
      close(descriptor)
      throw POSIXError(.init(rawValue: code) ?? .EIO)
    }
    self.descriptor = descriptor
  }

  deinit {
    close(self.descriptor)
  }

  /// Sends all of `bytes`; `false` when the peer has closed the connection.
  @discardableResult
  func send(_ bytes: some Collection<UInt8>) -> Bool {
    let bytes = Array(bytes)
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes {
        Glibc.send(self.descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
      }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { return false }
      offset += written
    }
    return true
  }

  /// Sends `text` as UTF-8.
  @discardableResult
  func send(_ text: String) -> Bool {
    self.send(Array(text.utf8))
  }

  /// What the peer did within `timeout`.
  enum Received: Equatable {
    case bytes([UInt8])
    case closed
    case nothing
  }

  /// Waits up to `timeout` for bytes or the end of the connection.
  func receive(timeout: Duration) -> Received {
    var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
    let milliseconds = Int32(timeout / .milliseconds(1))
    let ready = poll(&poller, 1, milliseconds)
    guard ready > 0 else { return .nothing }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let count = recv(self.descriptor, &buffer, buffer.count, 0)
    guard count > 0 else { return .closed }
    return .bytes(Array(buffer[..<count]))
  }

  /// Reads until `text` has arrived (true), the connection closes or `timeout` passes (false).
  func receive(until text: String, timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    var received: [UInt8] = []
    while ContinuousClock.now < deadline {
      switch self.receive(timeout: deadline - ContinuousClock.now) {
      case .bytes(let bytes):
        received += bytes
        if String(decoding: received, as: UTF8.self).contains(text) { return true }
      case .closed, .nothing:
        return false
      }
    }
    return false
  }
}
