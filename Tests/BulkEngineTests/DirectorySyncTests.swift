import BulkCore
import BulkTestSupport
import Foundation
import Synchronization
import Testing

@testable import BulkEngine

/// New job folders and `columns.json` files are made durable: the folder that holds each is
/// fsynced after it appears. A recorder around the real fsync notes what each synced folder held
/// at that moment.
@Suite("directory sync")
struct DirectorySyncTests {
  final class Recorder: Sendable {
    private let syncs = Mutex<[(folder: String, entries: Set<String>)]>([])

    var directorySync: DirectorySync {
      DirectorySync { folder in
        try DirectorySync.fsync(folder)
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        self.syncs.withLock { $0.append((folder.standardizedFileURL.path, Set(entries))) }
      }
    }

    /// Whether `folder` was synced at a moment it held `entry`.
    func synced(_ folder: String, holding entry: String) -> Bool {
      let folder = URL(fileURLWithPath: folder).standardizedFileURL.path
      return self.syncs.withLock { $0.contains { $0.folder == folder && $0.entries.contains(entry) } }
    }
  }

  static func mode(_ path: String) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
  }

  @Test("staging: the job folder's entry, its upload and its columns.json are synced, and are private")
  func staging() async throws {
    try await withTemporaryDirectory { directory in
      let recorder = Recorder()
      let root = "\(directory)/staging"
      let storage = try FileJobStorage(
        stagingDirectory: root,
        resultsDirectory: "\(directory)/results",
        directorySync: recorder.directorySync
      )
      let store = SpooledStagingStore(storage: storage, limits: Limits())
      #expect(recorder.synced(directory, holding: "staging"))

      let csv = SpooledStagingStoreTests.job(id: "bulk-job-csv")
      _ = try await store.append(.bytes(Data("id\n1\n".utf8)), at: 0, to: csv)
      #expect(recorder.synced(root, holding: csv.id))
      #expect(recorder.synced("\(root)/\(csv.id)", holding: "upload"))
      #expect(try Self.mode("\(root)/\(csv.id)/upload") == 0o600)

      let batch = SpooledStagingStoreTests.job(.recordBatch, id: "bulk-job-batch")
      _ = try await store.append(.records(columns: ["id"], rows: [[.text("1")]]), at: 0, to: batch)
      #expect(recorder.synced(root, holding: batch.id))
      #expect(recorder.synced("\(root)/\(batch.id)", holding: "columns.json"))
      #expect(try Self.mode("\(root)/\(batch.id)/columns.json") == 0o600)
    }
  }

  @Test("results: the job folder's entry, its columns.json and each chunk file are synced, and are private")
  func results() async throws {
    try await withTemporaryDirectory { directory in
      let recorder = Recorder()
      let root = "\(directory)/results"
      let storage = try FileJobStorage(
        stagingDirectory: "\(directory)/staging",
        resultsDirectory: root,
        directorySync: recorder.directorySync
      )
      let store = ResultStore(storage: storage, ledger: StorageLedger(limits: Limits(), storage: storage))
      #expect(recorder.synced(directory, holding: "results"))

      let job = try JobSpec(operation: .insert, object: "t").validated(id: "bulk-job-results", tenantID: "acme", now: Date())
      try store.writeColumns(["id"], of: job)
      #expect(recorder.synced(root, holding: "bulk-job-results"))
      #expect(recorder.synced("\(root)/bulk-job-results", holding: "columns.json"))
      #expect(try Self.mode("\(root)/bulk-job-results/columns.json") == 0o600)

      try store.writeChunkBlocking(of: job, chunk: 0, sets: [:])
      #expect(recorder.synced("\(root)/bulk-job-results", holding: "0.results"))
    }
  }
}
