internal import BulkCore

/// A result set read by a task of its own while a response writes it: the read starts before
/// the response head is chosen (its first error is still a proper status) and goes on while
/// the body streams, one piece ahead at most.
///
/// Dropping the stream (a response never written, a client gone) cancels the read.
final class ResultStream: Sendable {
  private let handoff: ResultHandoff
  private let task: Task<Void, Never>

  /// Starts `read`, which emits pieces through the closure it is given and returns the locator.
  init(read: @escaping @Sendable (_ emit: @Sendable (ResultPiece) async throws -> Void) async throws -> String) {
    let handoff = ResultHandoff()
    self.handoff = handoff
    self.task = Task {
      do {
        let locator = try await read { piece in try await handoff.send(piece) }
        handoff.finish(.success(locator))
      } catch {
        handoff.finish(.failure(error))
      }
    }
  }

  deinit {
    self.task.cancel()
    self.handoff.cancel()
  }

  /// The next piece or the end of the read; throws its error.
  func next() async throws -> ResultHandoff.Event {
    try await self.handoff.next()
  }
}
