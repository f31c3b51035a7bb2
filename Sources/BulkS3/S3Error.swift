/// An error answer of S3 (or of an S3-compatible store): its `<Error>` document, or for answers
/// without a body (HEAD), the HTTP status.
///
/// Its text names the operation, bucket, key, status, code, message and request ids; never a
/// credential or signature.
public struct S3Error: Error, CustomStringConvertible, Sendable {
  /// S3's error code: `NoSuchKey`, `SignatureDoesNotMatch`, `SlowDown`, `AccessDenied`…; for an
  /// answer without a document, `NotFound` (404) or `HTTP <status>`.
  public var code: String
  /// S3's message, if any.
  public var message: String
  /// The HTTP status.
  public var status: Int
  /// `x-amz-request-id` (or the document's `RequestId`).
  public var requestID: String?
  /// `x-amz-id-2` (or the document's `HostId`).
  public var hostID: String?
  /// The operation that failed: `PutObject`, `UploadPart`, `GetObject`…
  public var operation: String
  /// The bucket of the request.
  public var bucket: String
  /// The key of the request, when it had one.
  public var key: String?

  /// Whether a new attempt may succeed: 5xx answers, `SlowDown`, `RequestTimeout`,
  /// `InternalError`, and 429.
  public var isRetryable: Bool {
    self.status >= 500 || self.status == 429
      || ["SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException"]
        .contains(self.code)
  }

  /// What failed and S3's reason.
  public var description: String {
    var text = "S3 \(self.operation) on s3://\(self.bucket)"
    if let key = self.key { text += "/\(key)" }
    text += " failed: HTTP \(self.status) \(self.code)"
    if !self.message.isEmpty { text += ": \(self.message)" }
    if let requestID = self.requestID { text += " (request id \(requestID)" + (self.hostID.map { ", host id \($0)" } ?? "") + ")" }
    return text
  }
}

/// A failure of the S3 client that is not an answer of S3.
public enum S3ClientError: Error, CustomStringConvertible, Sendable {
  /// S3 answered with success but with a document the client cannot read.
  case invalidResponse(operation: String, reason: String)
  /// An argument or setting is out of bounds (the field and limit are named).
  case invalidArgument(String)
  /// The request did not get an answer after every attempt (connection errors, timeouts).
  case transport(operation: String, attempts: Int, reason: String)
  /// A checksum the store echoed differs from the one sent.
  case checksumMismatch(operation: String, key: String, sent: String, received: String)

  /// What went wrong.
  public var description: String {
    switch self {
    case .invalidResponse(let operation, let reason): "S3 \(operation): unreadable answer: \(reason)"
    case .invalidArgument(let reason): "S3 client: \(reason)"
    case .transport(let operation, let attempts, let reason): "S3 \(operation): no answer after \(attempts) attempt(s): \(reason)"
    case .checksumMismatch(let operation, let key, let sent, let received):
      "S3 \(operation) of \(key): the store recorded SHA-256 \(received), the client sent \(sent)"
    }
  }
}
