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
    guard let expiry = Int64(expires), expires.allSatisfy(\.isASCIIDigit), let mac = Self.bytes(hex: signature),
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
    return mac.map { Self.hexDigits[Int($0 >> 4)] + Self.hexDigits[Int($0 & 0x0f)] }.joined()
  }

  private static func message(jobID: String, tenantID: String, expires: Int64) -> String {
    "\(jobID)\n\(tenantID)\n\(expires)"
  }

  private static let hexDigits = "0123456789abcdef".map(String.init)

  /// RFC 3986 unreserved characters: everything else in a query value is percent-encoded.
  private static let unreserved = CharacterSet(
    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
  )

  /// The bytes of a 64-digit hex string, `nil` for anything else.
  private static func bytes(hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count == 2 * SHA256.byteCount else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(SHA256.byteCount)
    for index in stride(from: 0, to: digits.count, by: 2) {
      guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
    }
    return bytes
  }

  private static func nibble(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0") ... UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
