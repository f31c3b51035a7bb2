import BulkCore
import Foundation
import Synchronization
import Testing

@testable import BulkHTTP

/// The handoff between the task reading results and the response writing them.
@Suite("ResultStream", .timeLimit(.minutes(1)))
struct ResultStreamTests {
  static func piece(_ text: String) -> ResultPiece {
    ResultPiece(data: Data(text.utf8), recordCount: 1)
  }

  @Test("pieces arrive in order, then the end with the locator")
  func order() async throws {
    let stream = ResultStream { emit in
      for text in ["a", "b", "c"] {
        try await emit(Self.piece(text))
      }
      return "next"
    }
    var received: [String] = []
    while true {
      switch try await stream.next() {
      case .piece(let piece): received.append(String(decoding: piece.data, as: UTF8.self))
      case .end(let locator):
        #expect(locator == "next")
        #expect(received == ["a", "b", "c"])
        return
      }
    }
  }

  @Test("the reader waits for the writer: it is never more than one piece ahead")
  func backpressure() async throws {
    let sent = Atomic<Int>(0)
    let stream = ResultStream { emit in
      for index in 0 ..< 100 {
        try await emit(Self.piece("\(index)"))
        sent.add(1, ordering: .relaxed)
      }
      return ""
    }
    try await Task.sleep(for: .milliseconds(100))
    #expect(sent.load(ordering: .relaxed) <= 1)
    for taken in 1 ... 10 {
      guard case .piece = try await stream.next() else {
        Issue.record("the stream ended early")
        return
      }
      try await Task.sleep(for: .milliseconds(5))
      #expect(sent.load(ordering: .relaxed) <= taken + 1)
    }
  }

  @Test("the read's error reaches the writer")
  func error() async throws {
    let stream = ResultStream { emit in
      try await emit(Self.piece("a"))
      throw BulkError(code: .internal, message: "the results of chunk 1 are missing")
    }
    guard case .piece = try await stream.next() else {
      Issue.record("expected a piece")
      return
    }
    await #expect(throws: BulkError(code: .internal, message: "the results of chunk 1 are missing")) {
      try await stream.next()
    }
  }

  @Test("dropping the stream cancels the read")
  func drop() async throws {
    let outcome = Mutex<(any Error)?>(nil)
    let done = AsyncStream<Void>.makeStream()
    var stream: ResultStream? = ResultStream { emit in
      do {
        while true {
          try await emit(Self.piece("x"))
        }
      } catch {
        outcome.withLock { $0 = error }
        done.continuation.finish()
        throw error
      }
    }
    _ = try await stream?.next()
    stream = nil
    for await _ in done.stream {}
    #expect(outcome.withLock { $0 } is CancellationError)
  }
}
