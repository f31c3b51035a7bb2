import Testing

@testable import BulkEngine

/// The gate that keeps chunks from starting once shutdown begins.
@Suite("Shutdown gate")
struct ShutdownGateTests {
  @Test("drained waits for the call under way; a call after the close is held until cancelled")
  func drain() async throws {
    let gate = ShutdownGate()
    let (inside, entered) = AsyncStream.makeStream(of: Void.self)
    let (release, finish) = AsyncStream.makeStream(of: Void.self)
    let first = Task {
      try await gate.pass { () async throws -> Int in
        entered.yield()
        for await _ in release {}
        return 1
      }
    }
    for await _ in inside { break }
    gate.close()
    let late = Task { try await gate.pass { 2 } }
    let drained = Task { await gate.drained(before: .now.advanced(by: .seconds(60))) }
    #expect(gate.inside == 1)
    finish.finish()
    await drained.value
    #expect(try await first.value == 1)
    #expect(gate.inside == 0)
    // The late call never ran: it waits until its task is cancelled, then throws.
    late.cancel()
    await #expect(throws: ShutdownGate.Stopped.self) { try await late.value }
    #expect(gate.inside == 0)
    #expect(gate.held == 0)
  }

  @Test("drained returns at the deadline when a call does not finish, even in a cancelled task")
  func deadline() async throws {
    let gate = ShutdownGate()
    let (inside, entered) = AsyncStream.makeStream(of: Void.self)
    let (release, finish) = AsyncStream.makeStream(of: Void.self)
    let stuck = Task {
      try await gate.pass { () async throws -> Int in
        entered.yield()
        for await _ in release {}
        return 1
      }
    }
    for await _ in inside { break }
    gate.close()
    let started = ContinuousClock.now
    let drained = Task { await gate.drained(before: .now.advanced(by: .milliseconds(200))) }
    drained.cancel()
    await drained.value
    let waited = ContinuousClock.now - started
    #expect(waited >= .milliseconds(200))
    #expect(waited < .seconds(5))
    #expect(gate.inside == 1)
    finish.finish()
    _ = try await stuck.value
  }

  @Test("a call that reaches the closed gate in a cancelled task throws at once")
  func cancelledBeforehand() async throws {
    let gate = ShutdownGate()
    gate.close()
    let (started, proceed) = AsyncStream.makeStream(of: Void.self)
    let late = Task {
      for await _ in started { break }
      return try await gate.pass { 1 }
    }
    late.cancel()
    proceed.yield()
    await #expect(throws: ShutdownGate.Stopped.self) { try await late.value }
    #expect(gate.held == 0)
  }
}
