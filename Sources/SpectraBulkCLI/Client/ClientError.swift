internal import Foundation
internal import GRPCCore

/// An error of a client command, as the message the user reads on standard error.
///
/// Server errors arrive as `RPCError`s and are turned into one of these only at the command's
/// edge, where it is known which job and which server the call was about.
struct ClientError: Error, CustomStringConvertible {
  /// What went wrong, naming the job, field or server concerned.
  var message: String

  var description: String { self.message }

  init(_ message: String) {
    self.message = message
  }

  /// The message for a failed call to `server`, about `job` when the call named one.
  init(_ error: RPCError, server: String, job: String?) {
    let reason = error.plainMessage.isEmpty ? "\(error.code)" : error.plainMessage
    let subject = job.map { "job \($0)" } ?? "the request"
    switch error.code {
    case .unauthenticated:
      self.message = "the server refused the token (\(reason)); pass --token or set SPECTRA_TOKEN"
    case .permissionDenied:
      self.message = "permission denied: \(reason); --tenant must name the token's tenant"
    case .notFound:
      self.message = job.map { "job \($0) was not found for this tenant" } ?? "not found: \(reason)"
    case .invalidArgument:
      self.message = "\(subject) was refused as invalid: \(reason)"
    case .failedPrecondition:
      self.message = "\(subject) is not in a state that allows this: \(reason)"
    case .outOfRange:
      self.message = "upload offset of \(subject) out of range: \(reason)"
    case .resourceExhausted:
      self.message = "a server limit was reached for \(subject): \(reason)"
    case .alreadyExists:
      self.message = "\(subject) conflicts with an existing one: \(reason)"
    case .unavailable:
      self.message = "cannot reach the server at \(server): \(reason)"
    case .deadlineExceeded:
      self.message = "the server at \(server) did not answer in time: \(reason)"
    default:
      self.message = "\(subject) failed (\(error.code)): \(reason)"
    }
  }
}

extension RPCError {
  /// The message without the transport's explanation of why the call was not queued: the
  /// commands do not ask to wait for a connection, and retry by themselves.
  var plainMessage: String {
    self.message.replacingOccurrences(
      of: "Channel is in a transient failure state and 'wait for ready' isn't enabled. ",
      with: ""
    )
  }
}
