package import Logging

/// An error the server reports to a client.
///
/// `BulkError` is the one error type of the domain. The transports convert it at their edges:
/// to `RPCError` for gRPC and to an HTTP status for REST, each by one function. Its `message` is
/// written for the client: it names the field, record or byte offset and the reason, and never
/// carries a token or a payload.
///
/// Like grpc-swift's `RPCError`, it keeps the error underneath as `cause` (a catalog's SQLite
/// error, a failed system call) for the server's log: the edge that answers the call logs it once
/// (`logCause(to:call:)`); a client never sees it. The other error types of the server
/// (`PostgresError`, `SQLiteError`, `FormatError`, `PrivateFileError`, the engine's `JobFailure`,
/// `SpoolFileError` and `RecordFailure`) are internal: each becomes a `BulkError`, a job's
/// `error_message` or a record's outcome before it reaches a client.
package struct BulkError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What kind of failure this is; it decides the status code at the edges.
  package var code: Code
  /// A readable explanation naming the field, record or offset at fault.
  package var message: String
  /// For `RESOURCE_EXHAUSTED`: the request itself is over a size limit, rather than arriving when
  /// a count or a budget is used up; REST answers it 413 on every route.
  package var isRequestTooLarge = false
  /// The error that caused this one, for the server's log only. It is not part of equality, and
  /// neither `message` nor `description` includes it: its text may name a path or a statement.
  package var cause: (any Error)?

  package init(code: Code, message: String, cause: (any Error)? = nil) {
    self.code = code
    self.message = message
    self.cause = cause
  }

  /// The code and the message, as a client may see them; never the cause.
  package var description: String {
    "\(self.code): \(self.message)"
  }

  package static func == (lhs: BulkError, rhs: BulkError) -> Bool {
    lhs.code == rhs.code && lhs.message == rhs.message && lhs.isRequestTooLarge == rhs.isRequestTooLarge
  }

  package func hash(into hasher: inout Hasher) {
    hasher.combine(self.code)
    hasher.combine(self.message)
    hasher.combine(self.isRequestTooLarge)
  }

  /// Logs the cause, when there is one, where the error is answered; an error without a cause is
  /// the client's and is not logged. The transports call this once per failed call.
  ///
  /// - Parameter call: what failed, e.g. the RPC or the route.
  package func logCause(to logger: Logger, call: String) {
    guard let cause = self.cause else { return }
    logger.error(
      "call failed",
      metadata: ["call": "\(call)", "code": "\(self.code)", "error": "\(self.message)", "cause": "\(cause)"]
    )
  }

  /// The kind of a `BulkError`. A struct over a private enum so that codes can be added.
  package struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: String, Hashable, Sendable {
      case invalidArgument = "INVALID_ARGUMENT"
      case unauthenticated = "UNAUTHENTICATED"
      case permissionDenied = "PERMISSION_DENIED"
      case notFound = "NOT_FOUND"
      case failedPrecondition = "FAILED_PRECONDITION"
      case outOfRange = "OUT_OF_RANGE"
      case resourceExhausted = "RESOURCE_EXHAUSTED"
      case alreadyExists = "ALREADY_EXISTS"
      case unavailable = "UNAVAILABLE"
      case unimplemented = "UNIMPLEMENTED"
      case `internal` = "INTERNAL"
    }

    private let wrapped: Wrapped

    private init(_ wrapped: Wrapped) {
      self.wrapped = wrapped
    }

    /// The code's name as gRPC spells it, e.g. `FAILED_PRECONDITION`.
    package var description: String { self.wrapped.rawValue }

    /// A field of the request is missing or invalid.
    package static let invalidArgument = Self(.invalidArgument)
    /// No token, or a token the server does not know.
    package static let unauthenticated = Self(.unauthenticated)
    /// The caller is known but may not do this.
    package static let permissionDenied = Self(.permissionDenied)
    /// The job does not exist for the caller.
    package static let notFound = Self(.notFound)
    /// The job's state does not allow the call.
    package static let failedPrecondition = Self(.failedPrecondition)
    /// An upload offset beyond the stored size.
    package static let outOfRange = Self(.outOfRange)
    /// A size, ratio or count limit was reached.
    package static let resourceExhausted = Self(.resourceExhausted)
    /// A `request_id` was reused with another request body.
    package static let alreadyExists = Self(.alreadyExists)
    /// A dependency (the warehouse, the catalog) cannot be reached.
    package static let unavailable = Self(.unavailable)
    /// The call is part of the contract but not served by this build.
    package static let unimplemented = Self(.unimplemented)
    /// A fault of the server itself.
    package static let `internal` = Self(.internal)
  }
}

extension BulkError {
  package static func invalidArgument(_ message: String) -> Self {
    Self(code: .invalidArgument, message: message)
  }

  package static func failedPrecondition(_ message: String) -> Self {
    Self(code: .failedPrecondition, message: message)
  }

  /// `RESOURCE_EXHAUSTED` for a request over a size limit (REST 413).
  package static func requestTooLarge(_ message: String) -> Self {
    var error = Self(code: .resourceExhausted, message: message)
    error.isRequestTooLarge = true
    return error
  }

  package static func jobNotFound(_ jobID: String) -> Self {
    Self(code: .notFound, message: "job '\(jobID)' was not found")
  }
}
