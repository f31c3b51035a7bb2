internal import BulkCore
internal import Synchronization

/// Hands result pieces from the task reading them to the response writing them, one at a time.
///
/// `send` returns once the writer has taken the piece, so the reader runs at most one piece
/// ahead of the socket (backpressure). `cancel` fails both sides, whichever is waiting.
final class ResultHandoff: Sendable {
  /// What the writer gets next.
  enum Event: Sendable {
    case piece(ResultPiece)
    /// The read finished; the locator of what follows, empty when nothing is left.
    case end(locator: String)
  }

  private struct State {
    var offered: (piece: ResultPiece, reader: CheckedContinuation<Void, any Error>)?
    var writer: CheckedContinuation<Event, any Error>?
    var end: Result<String, any Error>?
    var cancelled = false
  }

  private let state = Mutex(State())

  /// Offers the next piece and waits until it is taken.
  func send(_ piece: ResultPiece) async throws {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (reader: CheckedContinuation<Void, any Error>) in
        enum Action {
          case deliver(CheckedContinuation<Event, any Error>)
          case cancelled
          case wait
        }
        let action: Action = self.state.withLock { state in
          if state.cancelled { return .cancelled }
          if let writer = state.writer {
            state.writer = nil
            return .deliver(writer)
          }
          state.offered = (piece, reader)
          return .wait
        }
        switch action {
        case .deliver(let writer):
          writer.resume(returning: .piece(piece))
          reader.resume()
        case .cancelled:
          reader.resume(throwing: CancellationError())
        case .wait:
          break
        }
      }
    } onCancel: {
      self.cancel()
    }
  }

  /// Ends the read with its locator or error.
  func finish(_ result: Result<String, any Error>) {
    let writer = self.state.withLock { state in
      state.end = result
      defer { state.writer = nil }
      return state.writer
    }
    writer?.resume(with: result.map { Event.end(locator: $0) })
  }

  /// The next piece, or the end; throws the read's error.
  func next() async throws -> Event {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (writer: CheckedContinuation<Event, any Error>) in
        enum Action {
          case take(ResultPiece, CheckedContinuation<Void, any Error>)
          case end(Result<String, any Error>)
          case cancelled
          case wait
        }
        let action: Action = self.state.withLock { state in
          if let offered = state.offered {
            state.offered = nil
            return .take(offered.piece, offered.reader)
          }
          if let end = state.end { return .end(end) }
          if state.cancelled { return .cancelled }
          state.writer = writer
          return .wait
        }
        switch action {
        case .take(let piece, let reader):
          reader.resume()
          writer.resume(returning: .piece(piece))
        case .end(let result):
          writer.resume(with: result.map { Event.end(locator: $0) })
        case .cancelled:
          writer.resume(throwing: CancellationError())
        case .wait:
          break
        }
      }
    } onCancel: {
      self.cancel()
    }
  }

  /// Stops the handoff: a waiting reader or writer gets `CancellationError`, and so does every
  /// later call (but a finished read still reports its end).
  func cancel() {
    let (offered, writer) = self.state.withLock { state in
      state.cancelled = true
      defer {
        state.offered = nil
        state.writer = nil
      }
      return (state.offered, state.writer)
    }
    offered?.reader.resume(throwing: CancellationError())
    writer?.resume(throwing: CancellationError())
  }
}
