package import BulkCore
package import GRPCCore

extension RPCError {
  /// The gRPC status for a `BulkError`, per the status table of API.md. The only place the
  /// mapping is written for gRPC. The `BulkError`'s cause becomes this error's cause, which stays
  /// in the server: only the code and the message go on the wire.
  package init(_ error: BulkError) {
    let code: RPCError.Code
    switch error.code {
    case .invalidArgument: code = .invalidArgument
    case .unauthenticated: code = .unauthenticated
    case .permissionDenied: code = .permissionDenied
    case .notFound: code = .notFound
    case .failedPrecondition: code = .failedPrecondition
    case .outOfRange: code = .outOfRange
    case .resourceExhausted: code = .resourceExhausted
    case .alreadyExists: code = .alreadyExists
    case .unavailable: code = .unavailable
    case .unimplemented: code = .unimplemented
    default: code = .internalError
    }
    self.init(code: code, message: error.message, cause: error.cause)
  }
}
