public import Foundation
internal import Crypto

#if canImport(Glibc)
internal import Glibc
#endif

/// Signature Version 4 (`AWS4-HMAC-SHA256`), as AWS specifies it for S3 and the other services.
///
/// The signer works on a request's parts — method, the path as given (not yet encoded), query
/// parameters as given, headers, and the hash of the payload — and returns the headers to add.
/// Paths are encoded once and not normalised, which is what S3 requires (a key `a/../b` is a key,
/// not a path); the published test vectors this is checked against use paths for which that is
/// the same as the generic rules.
public struct SigV4Signer: Sendable {
  /// The payload hash S3 accepts when the body is not hashed (`UNSIGNED-PAYLOAD`).
  public static let unsignedPayload = "UNSIGNED-PAYLOAD"
  /// The SHA-256 of the empty payload.
  public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  /// The credentials requests are signed with.
  public var credentials: S3Credentials
  /// The region in the credential scope, `us-east-1` for instance.
  public var region: String
  /// The service in the credential scope: `s3`, `sts`.
  public var service: String

  /// A signer for `service` in `region` with `credentials`.
  public init(credentials: S3Credentials, region: String, service: String) {
    self.credentials = credentials
    self.region = region
    self.service = service
  }

  /// The headers that sign a request: `X-Amz-Date`, `X-Amz-Security-Token` when the credentials
  /// carry a session token, `X-Amz-Content-SHA256` when `contentHashHeader` is set (S3 requires
  /// it), and `Authorization`.
  ///
  /// - Parameters:
  ///   - path: the request path before encoding, `/bucket/key with space`.
  ///   - query: the query parameters before encoding, in any order.
  ///   - headers: the headers that will be sent, `Host` among them; all are signed.
  ///   - payloadHash: the lowercase hex SHA-256 of the body, or ``unsignedPayload``.
  public func signatureHeaders(
    method: String,
    path: String,
    query: [(String, String)],
    headers: [(String, String)],
    payloadHash: String,
    date: Date,
    contentHashHeader: Bool
  ) -> [(String, String)] {
    let stamp = AmzDate(date)
    var added: [(String, String)] = [("X-Amz-Date", stamp.long)]
    if contentHashHeader { added.append(("X-Amz-Content-SHA256", payloadHash)) }
    if let token = self.credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
    let canonical = Self.canonicalHeaders(headers + added)
    let request = Self.canonicalRequest(
      method: method,
      path: path,
      query: query,
      canonicalHeaders: canonical,
      payloadHash: payloadHash
    )
    let signature = self.signature(canonicalRequest: request, stamp: stamp)
    let authorization =
      "AWS4-HMAC-SHA256 Credential=\(self.credentials.accessKeyID)/\(self.scope(stamp)), "
      + "SignedHeaders=\(canonical.signed), Signature=\(signature)"
    return added + [("Authorization", authorization)]
  }

  /// The query parameters of a presigned request valid for `expires` seconds from `date`: the
  /// signature travels in the query (`X-Amz-Signature`), the payload is unsigned unless
  /// `payloadHash` says otherwise, and only `headers` (at least `Host`) are signed.
  public func presignedQuery(
    method: String,
    path: String,
    query: [(String, String)],
    headers: [(String, String)],
    date: Date,
    expires: Int,
    payloadHash: String = SigV4Signer.unsignedPayload
  ) -> [(String, String)] {
    let stamp = AmzDate(date)
    let canonical = Self.canonicalHeaders(headers)
    var added: [(String, String)] = [
      ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
      ("X-Amz-Credential", "\(self.credentials.accessKeyID)/\(self.scope(stamp))"),
      ("X-Amz-Date", stamp.long),
      ("X-Amz-Expires", String(expires)),
    ]
    if let token = self.credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
    added.append(("X-Amz-SignedHeaders", canonical.signed))
    let request = Self.canonicalRequest(
      method: method,
      path: path,
      query: query + added,
      canonicalHeaders: canonical,
      payloadHash: payloadHash
    )
    let signature = self.signature(canonicalRequest: request, stamp: stamp)
    return query + added + [("X-Amz-Signature", signature)]
  }

  /// The canonical request, the first step of the signature (exposed for the test vectors).
  package static func canonicalRequest(
    method: String,
    path: String,
    query: [(String, String)],
    canonicalHeaders: (text: String, signed: String),
    payloadHash: String
  ) -> String {
    [
      method,
      Self.canonicalPath(path),
      Self.canonicalQuery(query),
      canonicalHeaders.text,
      canonicalHeaders.signed,
      payloadHash,
    ].joined(separator: "\n")
  }

  /// The string to sign for `canonicalRequest` at `date`.
  package func stringToSign(canonicalRequest: String, date: Date) -> String {
    self.stringToSign(canonicalRequest: canonicalRequest, stamp: AmzDate(date))
  }

  /// The hex signature of `canonicalRequest` at `date`.
  package func signature(canonicalRequest: String, date: Date) -> String {
    self.signature(canonicalRequest: canonicalRequest, stamp: AmzDate(date))
  }

  private func scope(_ stamp: AmzDate) -> String {
    "\(stamp.short)/\(self.region)/\(self.service)/aws4_request"
  }

  private func stringToSign(canonicalRequest: String, stamp: AmzDate) -> String {
    [
      "AWS4-HMAC-SHA256",
      stamp.long,
      self.scope(stamp),
      Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
    ].joined(separator: "\n")
  }

  private func signature(canonicalRequest: String, stamp: AmzDate) -> String {
    let text = self.stringToSign(canonicalRequest: canonicalRequest, stamp: stamp)
    var key = SymmetricKey(data: Data("AWS4\(self.credentials.secretAccessKey)".utf8))
    for part in [stamp.short, self.region, self.service, "aws4_request"] {
      key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
    }
    return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
  }

  /// Lowercase names, sorted; values trimmed, inner runs of spaces collapsed, repeated names
  /// joined with commas in the order given.
  package static func canonicalHeaders(_ headers: [(String, String)]) -> (text: String, signed: String) {
    var values: [String: [String]] = [:]
    for (name, value) in headers {
      let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
      values[name.lowercased(), default: []].append(trimmed)
    }
    let names = values.keys.sorted()
    let text = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
    return (text, names.joined(separator: ";"))
  }

  /// Each path segment URI-encoded once; `/` kept; the empty path is `/`.
  package static func canonicalPath(_ path: String) -> String {
    guard !path.isEmpty else { return "/" }
    return Self.encode(path, keepSlash: true)
  }

  /// Names and values encoded, sorted by name then value, joined with `&`.
  package static func canonicalQuery(_ query: [(String, String)]) -> String {
    let encoded: [(name: String, value: String)] = query.map { pair in
      (Self.encode(pair.0, keepSlash: false), Self.encode(pair.1, keepSlash: false))
    }
    let sorted = encoded.sorted { left, right in
      left.name == right.name ? left.value < right.value : left.name < right.name
    }
    return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
  }

  /// RFC 3986 encoding: unreserved characters (`A-Z a-z 0-9 - . _ ~`) kept, every other byte of
  /// the UTF-8 form as `%XX`; `/` kept when `keepSlash`.
  package static func encode(_ text: String, keepSlash: Bool) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
      if Self.unreserved[Int(byte)] || (keepSlash && byte == 0x2F) {
        result.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        result.append("%")
        result.append(Self.hexDigits[Int(byte >> 4)])
        result.append(Self.hexDigits[Int(byte & 0x0f)])
      }
    }
    return result
  }

  private static let hexDigits: [Character] = Array("0123456789ABCDEF")

  /// Whether each byte is an RFC 3986 unreserved character.
  private static let unreserved: [Bool] = (0..<256).map { byte in
    let scalar = Unicode.Scalar(UInt8(byte))
    return ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
      || "-._~".unicodeScalars.contains(scalar)
  }

  /// Lowercase hex of a digest or any bytes.
  package static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The lowercase hex SHA-256 of `data`.
  package static func sha256Hex<Bytes: DataProtocol>(_ data: Bytes) -> String {
    Self.hex(SHA256.hash(data: data))
  }
}

/// A time in the two forms SigV4 uses: `20150830T123600Z` and `20150830`, in UTC.
struct AmzDate {
  let long: String
  let short: String

  init(_ date: Date) {
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : String(value) }
    let day = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
    self.short = day
    self.long = "\(day)T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
  }
}
