import BulkCore
import Testing

@testable import BulkEngine

@Suite("ProgressTracker: which chunk's progress is stored")
struct ProgressTrackerTests {
  static let two = ChunkTally(processed: 2, failed: 1, total: 2, completed: true)

  @Test("every chunk's progress is stored while the upload is still being cut")
  func whileCutting() {
    let tracker = ProgressTracker()
    tracker.started()
    tracker.started()
    #expect(tracker.finished(Self.two, chunk: 1))
    #expect(tracker.finished(Self.two, chunk: 0))
    #expect(tracker.progress.processed == 4)
    #expect(!tracker.leftToFinish)
  }

  @Test("once the upload is cut to its end, only the last chunk's progress is left to the final state")
  func lastChunk() {
    let tracker = ProgressTracker()
    tracker.started()
    tracker.started()
    tracker.cutToEnd()
    #expect(tracker.finished(Self.two, chunk: 0))
    #expect(!tracker.leftToFinish)
    #expect(!tracker.finished(Self.two, chunk: 1))
    #expect(tracker.leftToFinish)
    let progress = tracker.progress
    #expect(progress.processed == 4)
    #expect(progress.failed == 2)
    #expect(progress.chunksCompleted == 2)
    #expect(progress.chunksSeen == 2)
  }

  @Test("a failed chunk is counted as ended, and adds nothing")
  func failedChunk() {
    let tracker = ProgressTracker()
    tracker.started()
    tracker.started()
    tracker.cutToEnd()
    #expect(tracker.finished(nil, chunk: 0))
    #expect(!tracker.finished(Self.two, chunk: 1))
    #expect(tracker.progress.chunksCompleted == 1)
  }
}
