internal import BulkCore
internal import Foundation
internal import Synchronization

/// The chunk leases this instance holds now, so that the heartbeat renews them.
final class ChunkLeaseBook: Sendable {
  private let leases = Mutex<[LeaseTarget: JobLease]>([:])

  var all: [JobLease] { self.leases.withLock { Array($0.values) } }

  func hold(_ lease: JobLease) {
    self.leases.withLock { $0[lease.target] = lease }
  }

  /// Stores a renewal; a lease given back meanwhile stays gone, and a lost one is forgotten.
  func renewed(_ lease: JobLease, to renewal: JobLease?) {
    self.leases.withLock { leases in
      guard leases[lease.target] != nil else { return }
      leases[lease.target] = renewal
    }
  }

  func forget(_ target: LeaseTarget) {
    self.leases.withLock { _ = $0.removeValue(forKey: target) }
  }
}

/// A job's chunks shared with the other instances of a shared catalog: each chunk is claimed by
/// lease before it is applied, so one instance runs it, and recorded finished with its counts,
/// so the instance that leads the job counts it without running it.
///
/// Every instance cuts the same chunks from the upload (cutting depends only on the upload and
/// the job's chunk size), so a chunk is named by its index alone. The warehouse's ledger still
/// makes each chunk apply once when two instances apply it (a lease lost to a pause).
struct ChunkShare: Sendable {
  let context: EngineContext
  let job: Job

  /// What to do with a chunk just cut.
  enum Turn {
    /// Run it here, under this lease.
    case run(JobLease)
    /// Another instance runs it or ran it.
    case elsewhere
    /// The job is no longer `InProgress`: start no chunk.
    case stop
  }

  /// Claims chunk `index` for this instance.
  func claim(_ index: Int) async throws -> Turn {
    let claim = try await self.context.catalog.claimChunk(
      index,
      jobID: self.job.id,
      tenantID: self.job.tenantID,
      holder: self.context.instanceID,
      for: self.context.settings.leaseDuration,
      now: Date()
    )
    switch claim {
    case .granted(let lease):
      self.context.chunkLeases.hold(lease)
      return .run(lease)
    case .heldElsewhere, .finished:
      return .elsewhere
    case .jobStopped:
      return .stop
    }
  }

  /// Records the chunk finished here with its counts; its lease is given back with it.
  func finish(_ lease: JobLease, counts: ChunkTally) async throws {
    defer { self.context.chunkLeases.forget(lease.target) }
    try await self.context.catalog.finishChunk(lease, counts: counts)
  }

  /// Gives back the lease of a chunk that did not finish here (the job failed, or the process
  /// stops), so another instance may run it at once; a failure is left to the lease's expiry.
  func abandon(_ lease: JobLease) async {
    self.context.chunkLeases.forget(lease.target)
    try? await self.context.catalog.release(lease)
  }

  /// The chunks finished by any instance, by index.
  func finished() async throws -> [Int: ChunkTally] {
    let chunks = try await self.context.catalog.finishedChunks(jobID: self.job.id, tenantID: self.job.tenantID)
    return Dictionary(chunks.map { ($0.index, $0.tally) }, uniquingKeysWith: { first, _ in first })
  }

  /// The chunks other instances hold unexpired leases on now.
  func runningElsewhere() async throws -> Set<Int> {
    let leases = try await self.context.catalog.chunkLeases(jobID: self.job.id, tenantID: self.job.tenantID, now: Date())
    return Set(
      leases.compactMap { lease in
        guard lease.holder != self.context.instanceID, case .chunk(_, _, let index) = lease.target else { return nil }
        return index
      }
    )
  }

  /// How often the leader looks at the chunks other instances run: often enough that progress
  /// shows soon, rarely enough that a long chunk costs few queries.
  var pollInterval: Duration {
    max(.milliseconds(50), min(.milliseconds(250), self.context.settings.heartbeatInterval / 4))
  }
}
