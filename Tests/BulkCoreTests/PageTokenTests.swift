import BulkCore
import Testing

@Suite("PageToken")
struct PageTokenTests {
  @Test("round-trips cursors", arguments: [1, 7, 1000, Int64.max - 1] as [Int64])
  func roundTrip(cursor: Int64) throws {
    let token = PageToken.encode(cursor)
    #expect(!token.contains("="))
    #expect(try PageToken.decode(token) == cursor)
  }

  @Test("the empty token is the first page")
  func empty() throws {
    #expect(try PageToken.decode("") == nil)
  }

  @Test("tokens the server did not issue are INVALID_ARGUMENT", arguments: ["abc", "!!!", "MTIz", "am9icy52MTotMQ"])
  func garbage(token: String) {
    #expect(throws: BulkError.invalidArgument("page_token is not a token this server issued")) {
      try PageToken.decode(token)
    }
  }
}
