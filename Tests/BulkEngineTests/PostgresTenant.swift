import BulkCore
import BulkEngine
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging

/// A tenant whose schema, with a random name, is new in a test PostgreSQL cluster, and a warehouse
/// on that cluster: engine tests that load into PostgreSQL start from one.
struct PostgresTenant {
  let cluster: PostgresCluster
  let tenant: Tenant
  let warehouse: PostgresWarehouse

  /// Creates the schema and runs `tables` in it (names unqualified).
  static func make(
    _ tables: String,
    cluster: PostgresCluster? = nil,
    poolSize: Int = 3,
    wholeTableRangeBytes: Int64 = 8 << 20
  ) async throws -> PostgresTenant {
    let schema = try await PostgresTestSchema.make(tables, in: cluster)
    return PostgresTenant(
      cluster: schema.cluster,
      tenant: Tenant(id: "acme", schema: schema.name),
      warehouse: schema.warehouse(poolSize: poolSize, wholeTableRangeBytes: wholeTableRangeBytes)
    )
  }

  /// `psql`'s unaligned output of `sql` run in the schema.
  func psql(_ sql: String) throws -> String {
    try self.cluster.psql("SET search_path TO \(self.tenant.schema); \(sql)")
  }

  /// A harness for this tenant, loading into this warehouse (wrapped by `wrapping` if given).
  func harness(
    directory: String,
    settings: EngineSettings,
    limits: Limits = Limits(),
    warehouse wrapping: ((any Warehouse) -> any Warehouse)? = nil,
    resultWriteCheck: ResultWriteCheck = .none
  ) throws -> EngineHarness {
    try EngineHarness(
      directory: directory,
      settings: settings,
      limits: limits,
      tenant: self.tenant,
      base: self.warehouse,
      warehouse: wrapping,
      resultWriteCheck: resultWriteCheck
    )
  }
}
