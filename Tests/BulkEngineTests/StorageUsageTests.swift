import BulkCore
import Testing

@testable import BulkEngine

/// The storage ledger's bookkeeping and decisions, without files.
@Suite("StorageUsage")
struct StorageUsageTests {
  static let plenty: Int64 = 1 << 40

  @Test("bytes are counted per job and area and summed per tenant; removing an area gives back what it held")
  func counting() {
    var usage = StorageUsage(maxTenantBytes: 1000, minFreeBytes: 0)
    usage.add(300, jobID: "a", tenantID: "acme", in: .staging)
    usage.add(200, jobID: "a", tenantID: "acme", in: .results)
    usage.add(100, jobID: "b", tenantID: "acme", in: .staging)
    usage.add(400, jobID: "c", tenantID: "other", in: .staging)
    #expect(usage.bytes(ofTenant: "acme") == 600)
    #expect(usage.bytes(ofTenant: "other") == 400)

    usage.remove(jobID: "a", in: .staging)
    #expect(usage.bytes(ofTenant: "acme") == 300)
    #expect(usage.bytes(ofJob: "a", in: .results) == 200)
    usage.remove(jobID: "a", in: .results)
    usage.remove(jobID: "a", in: .results)
    #expect(usage.bytes(ofTenant: "acme") == 100)

    // Giving back more than a job holds never takes another job's bytes.
    usage.add(-500, jobID: "b", tenantID: "acme", in: .staging)
    #expect(usage.bytes(ofTenant: "acme") == 0)
    #expect(usage.bytes(ofTenant: "other") == 400)
  }

  @Test("a write past the tenant's quota is refused; up to it is admitted; other tenants are not affected")
  func tenantQuota() {
    var usage = StorageUsage(maxTenantBytes: 1000, minFreeBytes: 0)
    usage.add(900, jobID: "a", tenantID: "acme", in: .staging)
    #expect(usage.refusal(100, tenantID: "acme", free: Self.plenty, admission: .quotaAndFloor) == nil)
    #expect(
      usage.refusal(101, tenantID: "acme", free: Self.plenty, admission: .quotaAndFloor)
        == .tenantQuota(total: 1001, limit: 1000)
    )
    #expect(usage.refusal(1000, tenantID: "other", free: Self.plenty, admission: .quotaAndFloor) == nil)
    #expect(usage.refusal(5000, tenantID: "acme", free: Self.plenty, admission: .floorOnly) == nil)
  }

  @Test("a write that would leave less than the floor free is refused, whatever the admission")
  func floor() {
    let usage = StorageUsage(maxTenantBytes: Self.plenty, minFreeBytes: 1 << 30)
    let free: Int64 = (1 << 30) + 100
    for admission in [StorageUsage.Admission.quotaAndFloor, .floorOnly] {
      #expect(usage.refusal(100, tenantID: "acme", free: free, admission: admission) == nil)
      #expect(
        usage.refusal(101, tenantID: "acme", free: free, admission: admission)
          == .freeDiskFloor(free: (1 << 30) - 1, floor: 1 << 30)
      )
    }
  }

  @Test("refusals are RESOURCE_EXHAUSTED naming the flag and its value")
  func messages() {
    let quota = StorageUsage.Refusal.tenantQuota(total: 1001, limit: 1000).error
    #expect(quota.code == .resourceExhausted)
    #expect(quota.message.contains("limit of 1000 bytes (--max-tenant-bytes)"), "\(quota.message)")
    let floor = StorageUsage.Refusal.freeDiskFloor(free: -5, floor: 1 << 30).error
    #expect(floor.code == .resourceExhausted)
    #expect(
      floor.message.contains("0 bytes free, under its floor of 1073741824 bytes (--min-free-bytes)"),
      "\(floor.message)"
    )
  }
}
