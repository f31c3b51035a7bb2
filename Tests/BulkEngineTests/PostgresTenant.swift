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
  static func make(_ tables: String, cluster: PostgresCluster? = nil, poolSize: Int = 3) async throws -> PostgresTenant {
    let cluster = if let cluster { cluster } else { try await PostgresCluster.shared() }
    let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
    _ = try cluster.psql("CREATE SCHEMA \(schema); SET search_path TO \(schema); \(tables)")
    return PostgresTenant(
      cluster: cluster,
      tenant: Tenant(id: "acme", schema: String(schema)),
      warehouse: PostgresWarehouse(
        url: cluster.url(),
        poolSize: poolSize,
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
      )
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
