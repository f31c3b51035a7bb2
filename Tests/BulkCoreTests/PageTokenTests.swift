import BulkCore
import Foundation
import Testing

@Suite("PageToken")
struct PageTokenTests {
  static let secret = [UInt8](repeating: 0x5A, count: 32)
  static let refused = BulkError.invalidArgument("page_token is not a token this server issued")

  @Test(
    "round-trips cursors, also through a server restarted with the same key",
    arguments: [1, 7, 1000, Int64.max - 1] as [Int64]
  )
  func roundTrip(cursor: Int64) throws {
    let token = try PageToken(secret: Self.secret).encode(cursor, tenantID: "acme")
    #expect(!token.contains("="))
    #expect(try PageToken(secret: Self.secret).decode(token, tenantID: "acme") == cursor)
  }

  @Test("the empty token is the first page")
  func empty() throws {
    #expect(try PageToken().decode("", tenantID: "acme") == nil)
  }

  @Test("a token shows nothing of the server-wide job sequence")
  func opaque() throws {
    let tokens = PageToken(secret: Self.secret)
    var seen = Set<String>()
    var lengths = Set<Int>()
    for cursor in [1, 2, 41, 42, 1000, 123_456_789] as [Int64] {
      for _ in 0 ..< 3 {
        let token = try tokens.encode(cursor, tenantID: "acme")
        #expect(seen.insert(token).inserted, "the same token twice")
        lengths.insert(token.count)
        let bytes = try #require(OpaqueToken.bytes(of: token))
        let plain = withUnsafeBytes(of: cursor.littleEndian) { Array($0) }
        #expect(!bytes.indices.contains { bytes[$0...].starts(with: plain) }, "the cursor is in the token")
        #expect(OpaqueToken.decode(token).map { $0.contains(String(cursor)) } != true, "the cursor is in the token")
      }
    }
    #expect(lengths.count == 1, "the length of a token depends on the cursor: \(lengths)")
  }

  @Test("a token changed in any byte is INVALID_ARGUMENT naming the field")
  func tampered() throws {
    let tokens = PageToken(secret: Self.secret)
    let bytes = try #require(OpaqueToken.bytes(of: try tokens.encode(42, tenantID: "acme")))
    for index in bytes.indices {
      var changed = bytes
      changed[index] ^= 0x01
      #expect(throws: Self.refused) { try tokens.decode(OpaqueToken.encode(bytes: changed), tenantID: "acme") }
    }
    #expect(throws: Self.refused) {
      try tokens.decode(OpaqueToken.encode(bytes: Array(bytes.dropLast())), tenantID: "acme")
    }
    #expect(throws: BulkError.invalidArgument("offset is not a token this server issued")) {
      try tokens.decode(OpaqueToken.encode(bytes: Array(bytes.dropFirst())), tenantID: "acme", field: "offset")
    }
  }

  @Test("another tenant's token, another server's, and the old readable ones are refused")
  func foreign() throws {
    let tokens = PageToken(secret: Self.secret)
    let acme = try tokens.encode(42, tenantID: "acme")
    #expect(throws: Self.refused) { try tokens.decode(acme, tenantID: "globex") }
    #expect(throws: Self.refused) {
      try PageToken(secret: Array(repeating: 1, count: 32)).decode(acme, tenantID: "acme")
    }
    #expect(throws: Self.refused) { try PageToken().decode(acme, tenantID: "acme") }
    #expect(throws: Self.refused) { try tokens.decode(OpaqueToken.encode("jobs.v1:42"), tenantID: "acme") }
  }

  @Test("tokens the server did not issue are INVALID_ARGUMENT", arguments: ["abc", "!!!", "MTIz", "am9icy52MTotMQ"])
  func garbage(token: String) {
    #expect(throws: Self.refused) { try PageToken().decode(token, tenantID: "acme") }
  }
}
