package import BulkPostgres
internal import Foundation
internal import Logging

/// A schema of its own, with a random name, in a test PostgreSQL cluster: tests that load into or
/// query PostgreSQL start from one, to stay out of each other's way in the shared cluster.
package struct PostgresTestSchema: Sendable {
  /// The cluster the schema is in.
  package let cluster: PostgresCluster
  /// The schema's name, `t_` and 16 random hex digits.
  package let name: String

  /// Creates the schema in `cluster` (the shared one when `nil`) and runs `setup` in it, where
  /// names need no schema.
  package static func make(_ setup: String, in cluster: PostgresCluster? = nil) async throws -> PostgresTestSchema {
    let cluster = if let cluster { cluster } else { try await PostgresCluster.shared() }
    let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    _ = try cluster.psql("CREATE SCHEMA \(name); SET search_path TO \(name); \(setup)")
    return PostgresTestSchema(cluster: cluster, name: name)
  }

  /// A warehouse on the schema's cluster, of `poolSize` connections, that logs nothing and reads
  /// whole tables of at least two `wholeTableRangeBytes` on two connections, in ranges of that.
  package func warehouse(poolSize: Int, wholeTableRangeBytes: Int64 = 8 << 20) -> PostgresWarehouse {
    PostgresWarehouse(
      url: self.cluster.url(),
      poolSize: poolSize,
      wholeTableRangeBytes: wholeTableRangeBytes,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
  }

  /// `psql`'s unaligned output of `sql` run in the schema.
  package func psql(_ sql: String) throws -> String {
    try self.cluster.psql("SET search_path TO \(self.name); \(sql)")
  }
}
