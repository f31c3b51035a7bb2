internal import CLibPQ

/// Asks the server to cancel what one connection is running.
///
/// This type alone owns its `PGcancel` handle and frees it in `deinit`. libpq's `PQcancel` may be
/// called from any thread while the connection's own thread waits in a call, which is the point
/// of it and why the type is `@unchecked Sendable`.
package final class PostgresCanceller: @unchecked Sendable {
  private let handle: OpaquePointer

  init(handle: OpaquePointer) {
    self.handle = handle
  }

  deinit {
    PQfreeCancel(self.handle)
  }

  /// Sends the cancel request; the running statement then fails with SQLSTATE 57014. A request
  /// that arrives when nothing runs does nothing.
  package func cancel() {
    var message = [CChar](repeating: 0, count: 256)
    _ = PQcancel(self.handle, &message, Int32(message.count))
  }
}
