internal import BulkCore

/// The bytes each job keeps in storage, by area, and each tenant's total: the pure bookkeeping of
/// `StorageLedger`, with the decisions of its two limits.
struct StorageUsage: Hashable, Sendable {
  /// Where a job's bytes lie.
  enum Area: Hashable, Sendable, CaseIterable {
    /// The staged upload (`StorageArea.upload`).
    case staging
    /// The results (`StorageArea.results`).
    case results
  }

  /// Which limits a write is held to.
  enum Admission: Hashable, Sendable {
    /// The tenant's quota and the free-disk floor.
    case quotaAndFloor
    /// The free-disk floor only: for the unprocessed results of a job that stopped, so every
    /// record it was given stays accounted for.
    case floorOnly
  }

  /// Why a write is refused.
  enum Refusal: Hashable, Sendable {
    /// The tenant would store `total` bytes, over `limit`.
    case tenantQuota(total: Int64, limit: Int64)
    /// The file system would keep `free` bytes, under `floor`.
    case freeDiskFloor(free: Int64, floor: Int64)
  }

  private struct JobBytes: Hashable, Sendable {
    var tenantID: String
    var bytes: [Area: Int64] = [:]
  }

  private var jobs: [String: JobBytes] = [:]
  private var tenants: [String: Int64] = [:]

  let maxTenantBytes: Int64
  let minFreeBytes: Int64

  init(maxTenantBytes: Int64, minFreeBytes: Int64) {
    self.maxTenantBytes = maxTenantBytes
    self.minFreeBytes = minFreeBytes
  }

  /// The bytes the tenant keeps.
  func bytes(ofTenant tenantID: String) -> Int64 {
    self.tenants[tenantID] ?? 0
  }

  /// The bytes the job keeps in `area`.
  func bytes(ofJob jobID: String, in area: Area) -> Int64 {
    self.jobs[jobID]?.bytes[area] ?? 0
  }

  /// Whether `bytes` more may be written for the tenant when the file system has `free` bytes
  /// left; `nil` when they may.
  func refusal(_ bytes: Int64, tenantID: String, free: Int64, admission: Admission) -> Refusal? {
    if admission == .quotaAndFloor {
      let total = self.bytes(ofTenant: tenantID) + bytes
      if total > self.maxTenantBytes {
        return .tenantQuota(total: total, limit: self.maxTenantBytes)
      }
    }
    if free - bytes < self.minFreeBytes {
      return .freeDiskFloor(free: free - bytes, floor: self.minFreeBytes)
    }
    return nil
  }

  /// Counts `bytes` (negative to give some back) for the job in `area`.
  mutating func add(_ bytes: Int64, jobID: String, tenantID: String, in area: Area) {
    var job = self.jobs[jobID] ?? JobBytes(tenantID: tenantID)
    // Never below zero: a file removed twice gives back what it held once.
    let change = max(bytes, -(job.bytes[area] ?? 0))
    job.bytes[area, default: 0] += change
    self.jobs[jobID] = job
    self.tenants[job.tenantID, default: 0] += change
  }

  /// Forgets what the job kept in `area` (its files were removed).
  mutating func remove(jobID: String, in area: Area) {
    guard var job = self.jobs[jobID] else { return }
    let held = job.bytes.removeValue(forKey: area) ?? 0
    self.tenants[job.tenantID, default: 0] -= held
    if job.bytes.isEmpty {
      self.jobs[jobID] = nil
    } else {
      self.jobs[jobID] = job
    }
    if self.tenants[job.tenantID] == 0 {
      self.tenants[job.tenantID] = nil
    }
  }
}

extension StorageUsage.Refusal {
  /// The client's error: `RESOURCE_EXHAUSTED` naming the limit, its value and what to do.
  var error: BulkError {
    switch self {
    case .tenantQuota(let total, let limit):
      BulkError(
        code: .resourceExhausted,
        message:
          "the tenant would store \(total) bytes of uploads and results, over its limit of \(limit) bytes (--max-tenant-bytes); delete finished jobs to make room"
      )
    case .freeDiskFloor(let free, let floor):
      BulkError(
        code: .resourceExhausted,
        message:
          "the server's data directory would have \(max(0, free)) bytes free, under its floor of \(floor) bytes (--min-free-bytes); retry later"
      )
    }
  }
}
