import BulkCore
import BulkGRPC
import GRPCCore
import Testing

/// The gRPC edge's one mapping of `BulkError`.
@Suite("BulkError to RPCError")
struct BulkErrorRPCErrorTests {
  struct Underlying: Error, CustomStringConvertible {
    var description: String { "SQLite error 10: disk I/O error" }
  }

  @Test("the code and the message go to the client; the cause stays the RPCError's cause")
  func cause() throws {
    let error = RPCError(
      BulkError(code: .unavailable, message: "the job catalog is unavailable; retry later", cause: Underlying())
    )
    #expect(error.code == .unavailable)
    #expect(error.message == "the job catalog is unavailable; retry later")
    #expect(try #require(error.cause) is Underlying)
    #expect(RPCError(BulkError.invalidArgument("object is required")).cause == nil)
  }
}
