internal import Foundation

/// The text of a token clients hand back (page tokens, result locators) as unpadded base64url,
/// so it travels in URLs and headers unchanged.
package enum OpaqueToken {
  package static func encode(_ text: String) -> String {
    Self.encode(bytes: Array(text.utf8))
  }

  /// `bytes` as unpadded base64url.
  package static func encode(bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// The text of a token `encode` made; `nil` for anything else.
  package static func decode(_ token: String) -> String? {
    Self.bytes(of: token).flatMap { String(bytes: $0, encoding: .utf8) }
  }

  /// The bytes of a token `encode(bytes:)` made; `nil` for anything else.
  package static func bytes(of token: String) -> [UInt8]? {
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    return Data(base64Encoded: base64).map(Array.init)
  }
}
