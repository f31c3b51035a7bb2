package import BulkCore
internal import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// The bytes each tenant keeps in storage, and the gate every staged upload and result object
/// passes before it is written: the tenant's quota (`Limits.maxTenantBytes`) and the storage's
/// free-space floor (`Limits.minFreeBytes`).
///
/// A write is admitted (and counted) before its bytes reach the disk, so a refused one stores
/// nothing and the catalog, which is never gated, does not meet a full disk. The counts are kept
/// per job and area, so removing a job's upload or results gives back exactly what it held; they
/// are measured from storage by `load` at start, so they survive a restart whatever happened
/// before it.
package final class StorageLedger: Sendable {
  private let usage: Mutex<StorageUsage>
  private let freeBytes: @Sendable () throws -> Int64

  /// - Parameter freeBytes: the bytes still available to the server on the data directory's file
  ///   system; tests pass their own to place the floor without filling a disk.
  package init(limits: Limits, freeBytes: @escaping @Sendable () throws -> Int64) {
    self.usage = Mutex(StorageUsage(maxTenantBytes: limits.maxTenantBytes, minFreeBytes: limits.minFreeBytes))
    self.freeBytes = freeBytes
  }

  /// A ledger whose floor is checked on `storage` (`JobStorage.availableBytes`).
  package convenience init(limits: Limits, storage: any JobStorage) {
    self.init(limits: limits, freeBytes: { try storage.availableBytes() })
  }

  /// The bytes the tenant keeps.
  package func bytes(ofTenant tenantID: String) -> Int64 {
    self.usage.withLock { $0.bytes(ofTenant: tenantID) }
  }

  /// Admits and counts `bytes` about to be written for the job, or refuses them with
  /// `RESOURCE_EXHAUSTED` naming the limit.
  func reserve(
    _ bytes: Int64,
    jobID: String,
    tenantID: String,
    in area: StorageUsage.Area,
    admission: StorageUsage.Admission = .quotaAndFloor
  ) throws(BulkError) {
    guard bytes > 0 else { return }
    let free: Int64
    do {
      free = try self.freeBytes()
    } catch {
      throw BulkError(code: .unavailable, message: "the free space of the data directory cannot be read; retry later")
    }
    try self.usage.withLock { usage throws(BulkError) in
      if let refusal = usage.refusal(bytes, tenantID: tenantID, free: free, admission: admission) {
        throw refusal.error
      }
      usage.add(bytes, jobID: jobID, tenantID: tenantID, in: area)
    }
  }

  /// Gives back bytes reserved for a write that did not happen, or of a file replaced.
  func release(_ bytes: Int64, jobID: String, tenantID: String, in area: StorageUsage.Area) {
    self.usage.withLock { $0.add(-bytes, jobID: jobID, tenantID: tenantID, in: area) }
  }

  /// Forgets the job's bytes in `area`: its files there were removed.
  func remove(jobID: String, in area: StorageUsage.Area) {
    self.usage.withLock { $0.remove(jobID: jobID, in: area) }
  }

  /// Counts what the jobs keep as uploads and results, as `storage` lists it; called once at
  /// start, before anything is written.
  func load(jobs: [Job], storage: any JobStorage) throws {
    let measured = try jobs.map { job in
      (job, try Self.size(of: job.id, .upload, in: storage), try Self.size(of: job.id, .results, in: storage))
    }
    self.usage.withLock { usage in
      for (job, staged, written) in measured {
        usage.remove(jobID: job.id, in: .staging)
        usage.remove(jobID: job.id, in: .results)
        usage.add(staged, jobID: job.id, tenantID: job.tenantID, in: .staging)
        usage.add(written, jobID: job.id, tenantID: job.tenantID, in: .results)
      }
    }
  }

  /// The bytes of the job's objects in `area`.
  private static func size(of jobID: String, _ area: StorageArea, in storage: any JobStorage) throws -> Int64 {
    try storage.list(jobID: jobID, area: area).reduce(0) { $0 + $1.size }
  }

  /// The bytes an unprivileged process may still write on the file system of `path`.
  package static func availableBytes(at path: String) throws -> Int64 {
    var info = statvfs()
    guard statvfs(path, &info) == 0 else {
      throw SpoolFileError(operation: "statvfs", path: path, errno: errno)
    }
    return Int64(info.f_bavail) * Int64(info.f_frsize)
  }
}
