package import BulkCore
package import Hummingbird

/// An error as the REST surface answers it: an HTTP status and the body
/// `{"error":{"code":"FAILED_PRECONDITION","message":"…"}}`.
///
/// Handlers throw `BulkError`; `RESTErrorMiddleware` turns it into this with `init(_:during:)`,
/// the one place where the REST status of a `BulkError` is decided.
package struct RESTError: Error, Hashable, Sendable {
  /// The HTTP status of the response.
  package var status: HTTPResponse.Status
  /// The `BulkError` code's name, e.g. `FAILED_PRECONDITION`.
  package var code: String
  /// The message for the client; it names the field or offset and never carries a token.
  package var message: String
  /// The `BulkError`'s cause, which `RESTErrorMiddleware` logs; never part of the body, nor of
  /// equality.
  package var cause: (any Error)?

  /// What the failed call was doing, where that changes the status.
  package enum Call: CaseIterable, Hashable, Sendable {
    /// A `PUT` of upload data: `RESOURCE_EXHAUSTED` means the body is over a size limit.
    case upload
    /// Any other call: `RESOURCE_EXHAUSTED` means too many unfinished jobs.
    case other
  }

  /// An error with a status decided elsewhere (415, or a route that does not exist).
  package init(status: HTTPResponse.Status, code: BulkError.Code, message: String) {
    self.status = status
    self.code = code.description
    self.message = message
  }

  /// The REST form of a `BulkError`, keeping its cause for the log.
  package init(_ error: BulkError, during call: Call = .other) {
    self.init(
      status: Self.status(for: error.code, during: error.isRequestTooLarge ? .upload : call),
      code: error.code,
      message: error.message
    )
    self.cause = error.cause
  }

  package static func == (lhs: RESTError, rhs: RESTError) -> Bool {
    lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message
  }

  package func hash(into hasher: inout Hasher) {
    hasher.combine(self.status)
    hasher.combine(self.code)
    hasher.combine(self.message)
  }

  /// The HTTP status of each `BulkError` code (API.md §2).
  ///
  /// `OUT_OF_RANGE` is only raised by uploads (an offset beyond the stored size), so it is 416
  /// Range Not Satisfiable: the `Content-Range` the client sent does not fit what is stored.
  /// `RESOURCE_EXHAUSTED` is 413 Content Too Large on uploads (a size or ratio cap, the tenant's
  /// quota, the free-disk floor) and for any request that is itself too large
  /// (`BulkError.isRequestTooLarge`, e.g. a query over its length limit), and 429 Too Many
  /// Requests elsewhere (the limit of unfinished jobs), decided by the call and that flag rather
  /// than by the message so a reworded message cannot change the status.
  package static func status(for code: BulkError.Code, during call: Call) -> HTTPResponse.Status {
    switch code {
    case .invalidArgument: .badRequest
    case .unauthenticated: .unauthorized
    case .permissionDenied: .forbidden
    case .notFound: .notFound
    case .failedPrecondition, .alreadyExists: .conflict
    case .outOfRange: .rangeNotSatisfiable
    case .resourceExhausted: call == .upload ? .contentTooLarge : .tooManyRequests
    case .unavailable: .serviceUnavailable
    case .unimplemented: .notImplemented
    default: .internalServerError
    }
  }

  /// 415: an upload whose `Content-Type` or `Content-Encoding` does not fit the job.
  package static func unsupportedMediaType(_ message: String) -> Self {
    Self(status: .unsupportedMediaType, code: .invalidArgument, message: message)
  }

  /// Every code `BulkError` has today, for the checks that the mapping is complete.
  package static let knownCodes: [BulkError.Code] = [
    .invalidArgument, .unauthenticated, .permissionDenied, .notFound, .failedPrecondition, .outOfRange,
    .resourceExhausted, .alreadyExists, .unavailable, .unimplemented, .internal,
  ]

  /// Every error status the surface can answer with.
  package static var errorStatuses: Set<Int> {
    var statuses: Set<Int> = [HTTPResponse.Status.unsupportedMediaType.code]
    for code in Self.knownCodes {
      for call in Call.allCases {
        statuses.insert(Self.status(for: code, during: call).code)
      }
    }
    return statuses
  }
}
