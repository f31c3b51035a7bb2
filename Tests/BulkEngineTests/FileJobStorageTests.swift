import BulkCore
import BulkEngine
import BulkTestSupport
import Foundation
import Testing

/// The `JobStorage` contract, on the file system: what an object store implementing it must do
/// the same way.
@Suite("FileJobStorage")
struct FileJobStorageTests {
  static func storage(_ directory: String) throws -> FileJobStorage {
    try FileJobStorage(stagingDirectory: "\(directory)/staging", resultsDirectory: "\(directory)/results")
  }

  @Test("whole objects: written whole, read whole or by range, listed with their sizes, deleted")
  func wholeObjects() async throws {
    try await withTemporaryDirectory { directory in
      let storage = try Self.storage(directory)
      let chunk = StorageKey(jobID: "bulk-job-a", area: .results, name: "0.results")
      #expect(try storage.read(chunk, range: nil) == nil)
      #expect(try storage.size(of: chunk) == nil)

      try storage.write(Data("0123456789".utf8), to: chunk)
      try storage.write(Data("[]".utf8), to: StorageKey(jobID: "bulk-job-a", area: .results, name: "columns.json"))
      #expect(try storage.read(chunk, range: nil) == Data("0123456789".utf8))
      #expect(try storage.read(chunk, range: 2 ..< 5) == Data("234".utf8))
      // A range past the end gives what there is.
      #expect(try storage.read(chunk, range: 8 ..< 100) == Data("89".utf8))
      #expect(try storage.size(of: chunk) == 10)
      // A write replaces the object.
      try storage.write(Data("abc".utf8), to: chunk)
      #expect(try storage.read(chunk, range: nil) == Data("abc".utf8))

      let listed = try storage.list(jobID: "bulk-job-a", area: .results).sorted { $0.key.name < $1.key.name }
      #expect(listed.map(\.key.name) == ["0.results", "columns.json"])
      #expect(listed.map(\.size) == [3, 2])
      // Areas and jobs are apart.
      #expect(try storage.list(jobID: "bulk-job-a", area: .upload).isEmpty)
      #expect(try storage.list(jobID: "bulk-job-b", area: .results).isEmpty)

      try storage.delete(chunk)
      try storage.delete(chunk)
      #expect(try storage.size(of: chunk) == nil)
      try storage.remove(jobID: "bulk-job-a", area: .results)
      #expect(try storage.list(jobID: "bulk-job-a", area: .results).isEmpty)
    }
  }

  @Test("appendable objects: appends survive a reopen, reads take a range, a cut is kept")
  func appendableObjects() async throws {
    try await withTemporaryDirectory { directory in
      let storage = try Self.storage(directory)
      let key = StorageKey(jobID: "bulk-job-a", area: .upload, name: "upload")
      do {
        let object = try storage.openAppendable(key)
        #expect(object.size == 0)
        try object.append(Data("id,name\n".utf8))
        try object.append(Data("1,a\n".utf8))
        try object.sync()
        #expect(object.size == 12)
        #expect(try object.read(at: 3, maxLength: 4) == Data("name".utf8))
        try object.seal()
      }
      #expect(try storage.read(key, range: 8 ..< 12) == Data("1,a\n".utf8))
      let reopened = try storage.openAppendable(key)
      #expect(reopened.size == 12)
      try reopened.truncate(to: 8)
      #expect(try storage.size(of: key) == 8)
      #expect(try storage.list(jobID: "bulk-job-a", area: .upload).map(\.size) == [8])
    }
  }

  @Test("a checkpoint is kept apart from the job's upload, and removed on its own")
  func checkpoints() async throws {
    try await withTemporaryDirectory { directory in
      let storage = try Self.storage(directory)
      let checkpoint = StorageKey.checkpoint(of: "bulk-job-a")
      try storage.write(Data("{}".utf8), to: checkpoint)
      #expect(try storage.list(jobID: "bulk-job-a", area: .upload).isEmpty)
      #expect(try storage.list(jobID: "bulk-job-a", area: .checkpoint).map(\.size) == [2])
      try storage.remove(jobID: "bulk-job-a", area: .upload)
      #expect(try storage.read(checkpoint, range: nil) == Data("{}".utf8))
      try storage.remove(jobID: "bulk-job-a", area: .checkpoint)
      #expect(try storage.read(checkpoint, range: nil) == nil)
    }
  }
}
