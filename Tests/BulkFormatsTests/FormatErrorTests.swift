internal import BulkCore
internal import BulkFormats
internal import Testing

@Suite("FormatError")
struct FormatErrorTests {
  @Test("the description is the message")
  func description() {
    let error = FormatError.malformed("record 2 at byte 10 has 3 fields, the header has 2", offset: 10, record: 2)
    #expect(error.description == error.message)
    #expect(error.kind == .malformed)
    #expect(error.record == 2)
  }

  @Test("malformed input is INVALID_ARGUMENT, a limit RESOURCE_EXHAUSTED")
  func bulkError() {
    #expect(FormatError.malformed("m", offset: 0).bulkError.code == .invalidArgument)
    #expect(FormatError.limitExceeded("l", offset: 0).bulkError == BulkError(code: .resourceExhausted, message: "l"))
  }

  @Test("a message quotes a short stretch of the input, never all of it")
  func context() throws {
    let payload = String(repeating: "secret,", count: 10_000)
    let text = "a,b\n1,x\"" + payload + "\n"
    let error = try #require(throws: FormatError.self) { try Feeding.readCSV(text) }
    #expect(error.message.utf8.count < 200)
    #expect(error.message.contains("…"))
  }
}
