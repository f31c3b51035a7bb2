internal import Synchronization

/// The jobs a REST upload is running for. A plain `PUT` appends at the `bytes_uploaded` it reads
/// when it starts, so two at once would both write at the same offset; the second is refused
/// instead (409) and the client retries when the first has answered.
final class UploadGate: Sendable {
  private let running = Mutex<Set<String>>([])

  /// Marks an upload of `jobID` as running; `false` when one already is.
  func enter(_ jobID: String) -> Bool {
    self.running.withLock { $0.insert(jobID).inserted }
  }

  /// Marks the upload of `jobID` as finished.
  func leave(_ jobID: String) {
    _ = self.running.withLock { $0.remove(jobID) }
  }
}
