internal import BulkCore
internal import Logging
internal import Synchronization
internal import Testing

/// `BulkError` keeps what caused it for the log, and shows a client only its code and message.
@Suite("BulkError and its cause")
struct BulkErrorTests {
  struct Underlying: Error, CustomStringConvertible {
    var description: String { "disk I/O error at /data/catalog.sqlite" }
  }

  @Test("the cause is kept, but neither the message, the description nor equality include it")
  func cause() throws {
    let error = BulkError(
      code: .unavailable,
      message: "the job catalog is unavailable; retry later",
      cause: Underlying()
    )
    #expect(try #require(error.cause) is Underlying)
    #expect(error.description == "UNAVAILABLE: the job catalog is unavailable; retry later")
    #expect(!error.message.contains("catalog.sqlite"))
    let bare = BulkError(code: .unavailable, message: "the job catalog is unavailable; retry later")
    #expect(bare.cause == nil)
    #expect(error == bare)
    #expect(error.hashValue == bare.hashValue)
  }

  @Test("logCause logs the cause once, and an error without a cause not at all")
  func logCause() {
    let recorder = LogRecorder()
    let logger = Logger(label: "test") { _ in RecordingHandler(recorder: recorder) }
    BulkError.invalidArgument("object is required").logCause(to: logger, call: "CreateJob")
    #expect(recorder.events.isEmpty)
    BulkError(code: .unavailable, message: "retry later", cause: Underlying()).logCause(to: logger, call: "GetJob")
    let logged = recorder.events
    #expect(logged.count == 1)
    #expect(logged.first?["cause"] == "disk I/O error at /data/catalog.sqlite")
    #expect(logged.first?["call"] == "GetJob")
    #expect(logged.first?["error"] == "retry later")
  }
}

/// The metadata of every line logged through a `RecordingHandler`.
private final class LogRecorder: Sendable {
  private let lines = Mutex<[Logger.Metadata]>([])

  var events: [Logger.Metadata] { self.lines.withLock { $0 } }

  func record(_ metadata: Logger.Metadata) {
    self.lines.withLock { $0.append(metadata) }
  }
}

private struct RecordingHandler: LogHandler {
  let recorder: LogRecorder
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .trace

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { self.metadata[key] }
    set { self.metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    self.recorder.record(event.metadata ?? [:])
  }
}
