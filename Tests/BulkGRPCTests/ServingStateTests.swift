import BulkCore
import BulkGRPC
import Testing

/// The serving state health reports and long calls follow, without a server.
@Suite("Serving state")
struct ServingStateTests {
  @Test("known services serve until the stop, then are NOT_SERVING; unknown ones have no status")
  func statuses() {
    let serving = ServingState(services: ["spectra.bulk.v1.BulkService"])
    #expect(serving.status(of: "") == .serving)
    #expect(serving.status(of: "spectra.bulk.v1.BulkService") == .serving)
    #expect(serving.status(of: "other.Service") == nil)
    serving.stopServing()
    serving.stopServing()
    #expect(serving.status(of: "") == .notServing)
    #expect(serving.status(of: "spectra.bulk.v1.BulkService") == .notServing)
    #expect(serving.isStopping)
  }

  @Test("a watcher sees SERVING, then NOT_SERVING at the stop, then its stream ends")
  func watch() async {
    let serving = ServingState()
    let before = serving.watch()
    serving.stopServing()
    var seen: [ServingState.Status] = []
    for await status in before { seen.append(status) }
    #expect(seen == [.serving, .notServing])
    var after: [ServingState.Status] = []
    for await status in serving.watch() { after.append(status) }
    #expect(after == [.notServing])
  }

  @Test("a call cut by the stop is cancelled, finishes its cleanup, then fails UNAVAILABLE naming the stop")
  func untilStopping() async throws {
    let serving = ServingState()
    let (started, began) = AsyncStream.makeStream(of: Void.self)
    let (cleaned, cleanedUp) = AsyncStream.makeStream(of: Bool.self)
    let call = Task {
      try await serving.untilStopping("resume from bytes_uploaded") { () async throws -> Int in
        began.yield()
        // Waits for cancellation, like an upload waiting for its next message.
        let (never, _) = AsyncStream.makeStream(of: Int.self)
        for await _ in never {}
        cleanedUp.yield(Task.isCancelled)
        cleanedUp.finish()
        return 0
      }
    }
    for await _ in started { break }
    serving.stopServing()
    await #expect(throws: BulkError.self) {
      do {
        _ = try await call.value
      } catch let error as BulkError {
        #expect(error.code == .unavailable)
        #expect(error.message == "the server is stopping: resume from bytes_uploaded")
        throw error
      }
    }
    var wasCancelled: [Bool] = []
    for await flag in cleaned { wasCancelled.append(flag) }
    #expect(wasCancelled == [true])
  }

  @Test("a call that ends before the stop returns its result")
  func finishesFirst() async throws {
    let serving = ServingState()
    #expect(try await serving.untilStopping("unused") { 7 } == 7)
  }
}
