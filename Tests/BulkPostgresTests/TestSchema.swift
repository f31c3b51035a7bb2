import BulkCore
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging

/// A tenant schema of its own, with a random name, in the shared test cluster, and a warehouse
/// on it; tests use it to stay out of each other's way.
struct TestSchema {
  let cluster: PostgresCluster
  let tenant: Tenant
  let warehouse: PostgresWarehouse

  /// Creates the schema and runs `setup` in it.
  static func make(_ setup: String, poolSize: Int = 2) async throws -> TestSchema {
    let schema = try await PostgresTestSchema.make(setup)
    return TestSchema(
      cluster: schema.cluster,
      tenant: Tenant(id: "tenant-\(schema.name)", schema: schema.name),
      warehouse: schema.warehouse(poolSize: poolSize)
    )
  }

  /// Runs `sql` with `psql` in the schema and returns its output without the final newline.
  func psql(_ sql: String) throws -> String {
    try self.cluster.psql("SET search_path TO \(self.tenant.schema); \(sql)")
      .trimmingCharacters(in: .newlines)
  }

  /// A chunk of `records` for `table`, described by the warehouse itself.
  func work(
    _ operation: BulkCore.Operation,
    table: String,
    key: String = "",
    columns: [String],
    records: [[FieldValue]],
    jobID: String = "job-1",
    chunk: Int = 0
  ) async throws -> ChunkWork {
    let description = try await self.warehouse.describe(table: table, tenant: self.tenant)
    guard let description else { throw PostgresError(message: "no table \(table) in \(self.tenant.schema)") }
    return ChunkWork(
      jobID: jobID,
      chunk: chunk,
      operation: operation,
      table: description,
      keyColumn: key,
      columns: columns,
      records: records.enumerated().map { ChunkRecord(number: Int64($0.offset + 1), values: $0.element) }
    )
  }

  /// Applies a chunk built as `work` builds it, as a job of its own: chunks of one job and index
  /// apply only once.
  func apply(
    _ operation: BulkCore.Operation,
    table: String,
    key: String = "",
    columns: [String],
    records: [[FieldValue]]
  ) async throws -> [RecordOutcome] {
    let work = try await self.work(
      operation,
      table: table,
      key: key,
      columns: columns,
      records: records,
      jobID: "job-\(UUID().uuidString)"
    )
    return try await self.warehouse.apply(work, tenant: self.tenant)
  }
}
