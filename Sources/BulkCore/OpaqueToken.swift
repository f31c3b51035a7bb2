internal import Foundation

/// The text of a token clients hand back (page tokens, result locators) as unpadded base64url,
/// so it travels in URLs and headers unchanged.
package enum OpaqueToken {
  package static func encode(_ text: String) -> String {
    Data(text.utf8).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// The text of a token `encode` made; `nil` for anything else.
  package static func decode(_ token: String) -> String? {
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    guard let data = Data(base64Encoded: base64) else { return nil }
    return String(data: data, encoding: .utf8)
  }
}
