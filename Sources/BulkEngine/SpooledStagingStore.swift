package import BulkCore
internal import Synchronization

/// The staging store over a `JobStorage`: each job's upload is an `UploadSpool`, opened on first
/// use and recovered from what the storage holds.
package final class SpooledStagingStore: StagingStore {
  /// Where uploads (and the engine's results) are kept.
  package let storage: any JobStorage
  private let limits: Limits
  private let checkpointBytes: Int64
  private let spools = Mutex<[String: UploadSpool]>([:])
  /// Admits every staged byte against the tenant's quota and the free-space floor; the engine's
  /// result files go through the same ledger.
  package let ledger: StorageLedger

  /// The most an upload grows past its last saved checkpoint before a sync saves another: 4 MiB,
  /// a few milliseconds of checking for a restart to replay. An upload smaller than that has no
  /// checkpoint at all, so a small job's upload creates one file, not two.
  package static let checkpointBytes: Int64 = 4 << 20

  /// - Parameters:
  ///   - ledger: the storage ledger; by default one whose floor is checked on `storage`.
  ///   - checkpointBytes: see `SpooledStagingStore.checkpointBytes`; 0 saves one with every sync.
  package init(
    storage: any JobStorage,
    limits: Limits,
    ledger: StorageLedger? = nil,
    checkpointBytes: Int64 = SpooledStagingStore.checkpointBytes
  ) {
    self.storage = storage
    self.limits = limits
    self.checkpointBytes = checkpointBytes
    self.ledger = ledger ?? StorageLedger(limits: limits, storage: storage)
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
    try self.storage.remove(jobID: jobID, area: .upload)
    try self.storage.remove(jobID: jobID, area: .checkpoint)
    self.ledger.remove(jobID: jobID, in: .staging)
  }

  private func spool(for job: Job) -> UploadSpool {
    self.spools.withLock { spools in
      if let spool = spools[job.id] { return spool }
      let spool = UploadSpool(
        job: job,
        storage: self.storage,
        limits: self.limits,
        ledger: self.ledger,
        checkpointBytes: self.checkpointBytes
      )
      spools[job.id] = spool
      return spool
    }
  }
}
