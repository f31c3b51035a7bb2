import BulkCore
import BulkEngine
import BulkTestSupport
import Foundation
import Testing

@Suite("Upload spool, checker checkpoints")
struct UploadCheckpointTests {
  @Test("after a restart the upload checker starts from its checkpoint, not from the upload's first byte")
  func restartResumesFromCheckpoint() async throws {
    try await withTemporaryDirectory { directory in
      let job = FileStagingStoreTests.job(id: "bulk-job-checkpoint")
      let text = "id,name\n" + (1 ... 200_000).map { "\($0),name\($0)\n" }.joined() + "200001,part"
      let stored = Data(text.utf8)
      do {
        let store = try FileStagingStoreTests.store(directory, limits: Limits())
        _ = try await store.append(.bytes(stored), at: 0, to: job)
        #expect(try await store.sync(job).recordsReceived == 200_000)
      }
      // Join two records early in the upload: a checker that re-read the stored bytes would
      // count one record fewer.
      let upload = URL(fileURLWithPath: directory).appendingPathComponent("\(job.id)/upload")
      let lineFeed = try #require(stored[1000...].firstIndex(of: UInt8(ascii: "\n")))
      let handle = try FileHandle(forUpdating: upload)
      try handle.seek(toOffset: UInt64(lineFeed))
      try handle.write(contentsOf: Data(",".utf8))
      try handle.close()

      let restarted = try FileStagingStoreTests.store(directory, limits: Limits())
      #expect(try await restarted.sync(job).recordsReceived == 200_000)
      // The partial record and the ones after it are counted as before.
      _ = try await restarted.append(.bytes(Data("ial\n200002,b\n".utf8)), at: Int64(stored.count), to: job)
      #expect(try await restarted.sync(job).recordsReceived == 200_002)

      // Without a checkpoint the checker replays the upload, and sees the joined records.
      try FileManager.default.removeItem(
        at: URL(fileURLWithPath: directory).appendingPathComponent(".checkpoints/\(job.id).json")
      )
      let replayed = try FileStagingStoreTests.store(directory, limits: Limits())
      #expect(try await replayed.sync(job).recordsReceived == 200_001)
    }
  }
}
