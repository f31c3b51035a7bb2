internal import BulkCore
internal import Crypto
internal import Foundation

/// Signs and checks upload URLs: a URL on this server that takes `PUT` without an
/// `Authorization` header, bound to one job and tenant until it expires (like a presigned URL).
///
/// The signature is the hex HMAC-SHA256 of `job_id\ntenant\nexpires` under the server's key;
/// it is checked in constant time before anything else in the URL is trusted.
struct UploadURLSigner: Sendable {
  private let key: SymmetricKey

  init(key: [UInt8]) {
    self.key = SymmetricKey(data: key)
  }

  /// What a valid upload URL grants.
  struct Grant: Hashable, Sendable {
    var jobID: String
    var tenantID: String
  }

  /// The path and query of an upload URL, e.g.
  /// `/v1/bulk/uploads/bulk-job-…?tenant=acme&expires=1714567890&signature=…`.
  func pathAndQuery(jobID: String, tenantID: String, expires: Int64) -> String {
    let tenant = tenantID.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? tenantID
    let job = jobID.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? jobID
    let signature = self.signature(jobID: jobID, tenantID: tenantID, expires: expires)
    return "/v1/bulk/uploads/\(job)?tenant=\(tenant)&expires=\(expires)&signature=\(signature)"
  }

  /// Checks an upload URL's parameters for `jobID` at `now`.
  ///
  /// - Throws: `PERMISSION_DENIED` for a missing or wrong signature (a changed job, tenant or
  ///   expiry included) and for an expired URL.
  func verify(
    jobID: String,
    tenant: String?,
    expires: String?,
    signature: String?,
    now: Date
  ) throws(BulkError)
    -> Grant
  {
    guard let tenant, let expires, let signature, !tenant.isEmpty, !signature.isEmpty else {
      throw BulkError(
        code: .permissionDenied,
        message: "the upload URL is not signed: get one from GET /v1/bulk/jobs/{id}/upload-url"
      )
    }
    guard let expiry = Int64(expires), expires.allSatisfy(\.isASCIIDigit), let mac = Hex.bytes(signature),
      mac.count == SHA256.byteCount,
      HMAC<SHA256>.isValidAuthenticationCode(
        mac,
        authenticating: Data(Self.message(jobID: jobID, tenantID: tenant, expires: expiry).utf8),
        using: self.key
      )
    else {
      throw BulkError(
        code: .permissionDenied,
        message: "the upload URL's signature is not valid for this job and tenant; get a new one"
      )
    }
    guard Int64(now.timeIntervalSince1970) <= expiry else {
      let expired = Date(timeIntervalSince1970: TimeInterval(expiry)).restTimestamp
      throw BulkError(
        code: .permissionDenied,
        message: "the upload URL expired at \(expired); get a new one from GET /v1/bulk/jobs/\(jobID)/upload-url"
      )
    }
    return Grant(jobID: jobID, tenantID: tenant)
  }

  private func signature(jobID: String, tenantID: String, expires: Int64) -> String {
    let mac = HMAC<SHA256>.authenticationCode(
      for: Data(Self.message(jobID: jobID, tenantID: tenantID, expires: expires).utf8),
      using: self.key
    )
    return Hex.string(Array(mac))
  }

  private static func message(jobID: String, tenantID: String, expires: Int64) -> String {
    "\(jobID)\n\(tenantID)\n\(expires)"
  }

  /// RFC 3986 unreserved characters: everything else in a query value is percent-encoded.
  private static let unreserved = CharacterSet(
    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
  )
}

extension Character {
  fileprivate var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
