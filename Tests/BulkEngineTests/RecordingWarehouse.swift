import BulkCore
import Synchronization

/// The base warehouse, noting what each `apply` and `export` was given.
final class RecordingWarehouse: Warehouse {
  let base: any Warehouse
  /// Per chunk, in order: whether each call had the CSV (`true`) or values.
  let calls = Mutex<[Int: [Bool]]>([:])
  /// Each export's `wholeTable`, in order.
  let wholeTables = Mutex<[String?]>([])

  init(_ base: any Warehouse) {
    self.base = base
  }

  var loadsCSVAsUploaded: Bool { self.base.loadsCSVAsUploaded }

  func describe(table: String, tenant: Tenant) async throws -> TableDescription? {
    try await self.base.describe(table: table, tenant: tenant)
  }

  func apply(_ work: ChunkWork, tenant: Tenant) async throws -> [RecordOutcome] {
    self.calls.withLock { $0[work.chunk, default: []].append(work.csv != nil) }
    return try await self.base.apply(work, tenant: tenant)
  }

  func ledger(jobID: String, tenant: Tenant) async throws -> [Int: [RecordOutcome]] {
    try await self.base.ledger(jobID: jobID, tenant: tenant)
  }

  func removeLedger(jobID: String, tenant: Tenant) async throws {
    try await self.base.removeLedger(jobID: jobID, tenant: tenant)
  }

  func export(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
    self.wholeTables.withLock { $0.append(request.wholeTable) }
    return try await self.base.export(request, tenant: tenant, into: sink)
  }
}
