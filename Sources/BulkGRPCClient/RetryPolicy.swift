internal import GRPCCore

/// How often and how patiently a client command retries a call that failed for a reason that
/// may pass: the connection dropped, the server restarted.
package struct RetryPolicy: Sendable {
  /// Consecutive failed attempts after the first, before giving up.
  var maxRetries = 6
  /// The pause before the first retry; it doubles for each further one.
  var initialBackoff: Duration = .milliseconds(200)
  /// The longest pause.
  var maxBackoff: Duration = .seconds(5)

  /// The policy of every command: six retries, from 200 ms up to 5 s apart.
  package init() {}

  /// The pause before retry number `attempt` (1-based).
  package func backoff(attempt: Int) -> Duration {
    let doubled = self.initialBackoff * (1 << min(attempt - 1, 16))
    return min(doubled, self.maxBackoff)
  }

  /// Whether a call that failed with `error` may succeed when repeated: transport failures, not
  /// refusals by the server.
  static func isTransient(_ error: any Error) -> Bool {
    guard let error = error as? RPCError else { return false }
    switch error.code {
    case .unavailable, .unknown, .internalError, .aborted, .deadlineExceeded, .cancelled: return true
    default: return false
    }
  }

  /// Runs `body`, repeating it with backoff after a transient failure, unless `started` was set
  /// by then (the call had begun to deliver what cannot be taken back); each retry is noted on
  /// `notes` as `what` failed.
  package func run<T>(
    _ what: String = "the call",
    notes: (any ClientProgress)? = nil,
    unless started: StartedFlag? = nil,
    _ body: () async throws -> T
  ) async throws -> T {
    var attempt = 0
    while true {
      do {
        return try await body()
      } catch where Self.isTransient(error) && !(started?.isSet ?? false) && attempt < self.maxRetries {
        attempt += 1
        let pause = self.backoff(attempt: attempt)
        notes?.note("\(what) failed (\(Self.reason(error))); retrying in \(pause)")
        try await Task.sleep(for: pause)
      }
    }
  }

  /// A short reason for a transient failure, for progress notes.
  static func reason(_ error: any Error) -> String {
    guard let error = error as? RPCError else { return "\(error)" }
    return error.plainMessage.isEmpty ? "\(error.code)" : "\(error.code): \(error.plainMessage)"
  }
}
