internal import BulkGRPCClient
internal import GRPCCore

extension ClientError {
  /// The message for a failed call to `server`, about `job` when the call named one.
  init(_ error: RPCError, server: String, job: String?) {
    let reason = error.plainMessage.isEmpty ? "\(error.code)" : error.plainMessage
    let subject = job.map { "job \($0)" } ?? "the request"
    switch error.code {
    case .unauthenticated:
      self.init("the server refused the token (\(reason)); pass --token or set SPECTRA_TOKEN")
    case .permissionDenied:
      self.init("permission denied: \(reason); --tenant must name the token's tenant")
    case .notFound:
      self.init(job.map { "job \($0) was not found for this tenant" } ?? "not found: \(reason)")
    case .invalidArgument:
      self.init("\(subject) was refused as invalid: \(reason)")
    case .failedPrecondition:
      self.init("\(subject) is not in a state that allows this: \(reason)")
    case .outOfRange:
      self.init("upload offset of \(subject) out of range: \(reason)")
    case .resourceExhausted:
      self.init("a server limit was reached for \(subject): \(reason)")
    case .alreadyExists:
      self.init("\(subject) conflicts with an existing one: \(reason)")
    case .unavailable:
      self.init("cannot reach the server at \(server): \(reason)")
    case .deadlineExceeded:
      self.init("the server at \(server) did not answer in time: \(reason)")
    default:
      self.init("\(subject) failed (\(error.code)): \(reason)")
    }
  }
}
