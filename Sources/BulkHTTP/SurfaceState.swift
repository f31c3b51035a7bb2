internal import Synchronization

/// What the surface learns while it runs: the port it is bound to, and whether graceful
/// shutdown began (then `/healthz` answers 503 so balancers stop sending work).
final class SurfaceState: Sendable {
  private let state = Mutex<(port: Int?, shuttingDown: Bool)>((nil, false))

  /// The bound port, once listening.
  var boundPort: Int? { self.state.withLock { $0.port } }

  var isShuttingDown: Bool { self.state.withLock { $0.shuttingDown } }

  func listening(on port: Int) {
    self.state.withLock { $0.port = port }
  }

  func beginShutdown() {
    self.state.withLock { $0.shuttingDown = true }
  }
}
