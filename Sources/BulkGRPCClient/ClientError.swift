internal import Foundation
package import GRPCCore

/// An error of a client command, as the message the user reads on standard error.
///
/// Server errors arrive as `RPCError`s and are turned into one of these only at the command's
/// edge, where it is known which job and which server the call was about.
package struct ClientError: Error, CustomStringConvertible {
  /// What went wrong, naming the job, field or server concerned.
  package var message: String

  package var description: String { self.message }

  package init(_ message: String) {
    self.message = message
  }
}

extension RPCError {
  /// The message without the transport's explanation of why the call was not queued: the
  /// commands do not ask to wait for a connection, and retry by themselves.
  package var plainMessage: String {
    self.message.replacingOccurrences(
      of: "Channel is in a transient failure state and 'wait for ready' isn't enabled. ",
      with: ""
    )
  }
}
