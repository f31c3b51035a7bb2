package import BulkCore
package import Foundation
internal import Synchronization

/// The staging store on the local file system: one folder per job under `<data-dir>/staging`.
///
/// Each job's upload is an `UploadSpool`, opened on first use and recovered from its files.
package final class FileStagingStore: StagingStore {
  private let root: URL
  private let limits: Limits
  private let directorySync: DirectorySync
  private let spools = Mutex<[String: UploadSpool]>([:])
  /// Admits every staged byte against the tenant's quota and the free-disk floor; the engine's
  /// result files go through the same ledger.
  package let ledger: StorageLedger

  /// A store in `directory`, created if missing.
  ///
  /// - Parameters:
  ///   - ledger: the storage ledger of the data directory; by default one whose floor is checked
  ///     on `directory`.
  ///   - directorySync: makes new job folders and their files durable.
  package init(
    directory: String,
    limits: Limits,
    ledger: StorageLedger? = nil,
    directorySync: DirectorySync = .fsync
  ) throws {
    self.root = URL(fileURLWithPath: directory, isDirectory: true)
    self.limits = limits
    self.directorySync = directorySync
    try directorySync.createFolder(self.root)
    try directorySync.createFolder(self.root.appendingPathComponent(".checkpoints", isDirectory: true))
    self.ledger = ledger ?? StorageLedger(limits: limits, directory: directory)
  }

  package func append(_ piece: UploadPayload, at offset: Int64, to job: Job) async throws -> UploadAppendOutcome {
    try await self.spool(for: job).append(piece, at: offset)
  }

  package func sync(_ job: Job) async throws -> UploadProgress {
    try await self.spool(for: job).sync()
  }

  package func seal(_ job: Job) async throws -> UploadProgress {
    try await self.spool(for: job).seal()
  }

  package func remove(jobID: String) async throws {
    let spool = self.spools.withLock { $0.removeValue(forKey: jobID) }
    await spool?.close()
    let folder = self.root.appendingPathComponent(jobID, isDirectory: true)
    if FileManager.default.fileExists(atPath: folder.path) {
      try FileManager.default.removeItem(at: folder)
    }
    let checkpoint = self.checkpointFile(of: jobID)
    if FileManager.default.fileExists(atPath: checkpoint.path) {
      try FileManager.default.removeItem(at: checkpoint)
    }
    self.ledger.remove(jobID: jobID, in: .staging)
  }

  /// The job's folder; the engine reads the sealed upload from here.
  package func folder(of jobID: String) -> URL {
    self.root.appendingPathComponent(jobID, isDirectory: true)
  }

  /// Where the job's upload checker state is saved: outside the job's folder, so that it counts
  /// toward no tenant's stored bytes.
  private func checkpointFile(of jobID: String) -> URL {
    self.root.appendingPathComponent(".checkpoints", isDirectory: true).appendingPathComponent("\(jobID).json")
  }

  private func spool(for job: Job) -> UploadSpool {
    self.spools.withLock { spools in
      if let spool = spools[job.id] { return spool }
      let spool = UploadSpool(
        job: job,
        folder: self.folder(of: job.id),
        checkpointFile: self.checkpointFile(of: job.id),
        limits: self.limits,
        ledger: self.ledger,
        directorySync: self.directorySync
      )
      spools[job.id] = spool
      return spool
    }
  }
}
