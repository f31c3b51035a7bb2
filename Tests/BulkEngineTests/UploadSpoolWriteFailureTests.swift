import BulkCore
import BulkEngine
import BulkTestSupport
import Foundation
import Testing

@Suite("Upload spool, failed writes")
struct UploadSpoolWriteFailureTests {
  @Test("a write the disk refuses is not counted by the upload checker")
  func failedWriteIsNotCounted() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      let job = SpooledStagingStoreTests.job(id: "bulk-job-full-disk")
      let folder = SpooledStagingStoreTests.folder(directory, job.id)
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      // Every write to /dev/full fails with ENOSPC, as on a full disk.
      try FileManager.default.createSymbolicLink(
        atPath: folder.appendingPathComponent("upload").path,
        withDestinationPath: "/dev/full"
      )
      await #expect(throws: (any Error).self) {
        _ = try await store.append(SpooledStagingStoreTests.bytes("id,name\n1,a\n2,b\n"), at: 0, to: job)
      }
      let progress = try await store.sync(job)
      #expect(progress == UploadProgress(bytesUploaded: 0, recordsReceived: 0))
    }
  }
}
