internal import Crypto
internal import Foundation

/// The page tokens of job listings (gRPC `page_token`, REST `offset`).
///
/// A token carries the catalog's cursor, the server-wide sequence number of the page's last job,
/// sealed with ChaCha20-Poly1305 under a server key and bound to the tenant. So a token tells a
/// client nothing of how many jobs the server holds, and a token that was changed, made up, or
/// issued to another tenant is refused. A random nonce makes each token different, even for the
/// same page.
package struct PageToken: Sendable {
  private let key: SymmetricKey

  /// Tokens under a key derived from `secret`, the server's key in its data directory, so they
  /// stay valid across restarts and on every instance that shares the directory.
  package init(secret: [UInt8]) {
    self.key = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: secret),
      info: Data("spectra-bulk job page tokens v2".utf8),
      outputByteCount: 32
    )
  }

  /// Tokens under a random key, valid as long as this value lives (tests, a server without a
  /// data directory).
  package init() {
    self.key = SymmetricKey(size: .bits256)
  }

  /// The token of the page that starts after `cursor`, for `tenantID`'s listings only.
  package func encode(_ cursor: Int64, tenantID: String) throws(BulkError) -> String {
    let plain = withUnsafeBytes(of: cursor.littleEndian) { Array($0) }
    do {
      let box = try ChaChaPoly.seal(plain, using: self.key, authenticating: Self.context(tenantID))
      return OpaqueToken.encode(bytes: Array(box.combined))
    } catch {
      throw BulkError(code: .internal, message: "the next page token could not be made")
    }
  }

  /// The cursor in a token of `tenantID`; `nil` for the empty token (the first page).
  ///
  /// - Parameter field: the request field that carried the token, for the message.
  /// - Throws: `INVALID_ARGUMENT` naming `field` for anything this server did not issue to the
  ///   tenant.
  package func decode(_ token: String, tenantID: String, field: String = "page_token") throws(BulkError) -> Int64? {
    guard !token.isEmpty else { return nil }
    guard let bytes = OpaqueToken.bytes(of: token),
      let box = try? ChaChaPoly.SealedBox(combined: bytes),
      let plain = try? ChaChaPoly.open(box, using: self.key, authenticating: Self.context(tenantID)),
      plain.count == MemoryLayout<Int64>.size
    else {
      throw .invalidArgument("\(field) is not a token this server issued")
    }
    let cursor = plain.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
    guard cursor > 0 else { throw .invalidArgument("\(field) is not a token this server issued") }
    return cursor
  }

  /// What a token is bound to besides its key.
  private static func context(_ tenantID: String) -> Data {
    Data("jobs.v2\n\(tenantID)".utf8)
  }
}
