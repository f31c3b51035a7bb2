package import BulkCore
package import BulkPostgres
package import BulkS3
internal import Foundation
package import Logging
internal import Synchronization

/// The warehouse on Amazon Redshift, fed through S3 as Redshift wants it.
///
/// - Loads (`Client → S3 → Redshift`): each chunk's records are written as gzip CSV objects
///   under the job's folder (see `RedshiftChunkStager`), `COPY`-ed through a manifest into a
///   temporary staging table typed like the target, checked in SQL, and applied with `MERGE`,
///   `UPDATE … FROM`, `DELETE … USING` or `INSERT … SELECT` in one transaction with the chunk's
///   ledger rows (see `RedshiftChunkLoad`): the ledger contract of PostgreSQL.
/// - Exports (`Redshift → S3 → Client`): a query job's statement runs inside `UNLOAD` on the
///   tenant's own login, and the unloaded parts are streamed from S3 to the job's results (see
///   `RedshiftExport`).
///
/// Describing tables, the ledger's reads and the query roles are PostgreSQL's own (Redshift
/// speaks its protocol and keeps the same catalog), through a `PostgresWarehouse` of the
/// Redshift dialect.
package final class RedshiftWarehouse: Warehouse {
  /// Where the objects go and how Redshift reaches them.
  package let staging: RedshiftStaging
  /// The S3 client that writes and reads the staged objects.
  package let s3: S3Client
  private let base: PostgresWarehouse
  private let statements: any RedshiftS3Statements
  private let logger: Logger
  /// The cluster's slices, once asked.
  private let slices = Mutex<Int?>(nil)
  /// Schemas whose ledger table is known to exist.
  private let ledgerSchemas = Mutex<Set<String>>([])

  /// A warehouse on the cluster `base` reaches, staging through `s3` at `staging`.
  ///
  /// - Parameter statements: what runs `COPY` and `UNLOAD`: `RedshiftSQLStatements` on a
  ///   cluster.
  package init(
    base: PostgresWarehouse,
    staging: RedshiftStaging,
    s3: S3Client,
    statements: any RedshiftS3Statements = RedshiftSQLStatements(),
    logger: Logger
  ) {
    self.base = base
    self.staging = staging
    self.s3 = s3
    self.statements = statements
    self.logger = logger
    self.slices.withLock { $0 = staging.slices }
  }

  /// Closes the cluster's connections.
  package func shutdown() {
    self.base.shutdown()
  }

  package func describe(table: String, tenant: Tenant) async throws -> TableDescription? {
    try await self.base.describe(table: table, tenant: tenant)
  }

  /// Stages the chunk's records in S3, then loads and applies them in one transaction with the
  /// chunk's ledger rows; a chunk already in the ledger (found under the ledger's lock) returns
  /// its stored outcomes and applies nothing. The engine's recovery skips committed chunks before
  /// this, so no round trip is spent asking first. The chunk's objects are deleted once it
  /// committed.
  package func apply(_ work: ChunkWork, tenant: Tenant) async throws -> [RecordOutcome] {
    let shape = try ChunkShape(work: work, schema: tenant.schema)
    let ledger = LedgerStatements(schema: tenant.schema, dialect: .redshift)
    let load = RedshiftChunkLoad(work: work, shape: shape, ledger: ledger, statements: self.statements)
    if !self.ledgerSchemas.withLock({ $0.contains(tenant.schema) }) {
      _ = try await self.base.withLoaderConnection { try PostgresWarehouse.createLedger(ledger, on: $0) }
      self.ledgerSchemas.withLock { _ = $0.insert(tenant.schema) }
    }
    let started = ContinuousClock.now
    let stager = RedshiftChunkStager(staging: self.staging, s3: self.s3)
    let staged = try await stager.stage(work, tenant: tenant, slices: try await self.clusterSlices())
    let outcomes: [RecordOutcome]
    do {
      let (bucket, access) = (self.staging.bucket, self.staging.accessClauses)
      outcomes = try await self.base.withLoaderConnection { try load.run(staged, bucket: bucket, copyAccess: access, on: $0) }
    } catch {
      await stager.remove(staged)
      throw error
    }
    await stager.remove(staged)
    self.logger.debug(
      "applied chunk",
      metadata: [
        "job": "\(work.jobID)", "chunk": "\(work.chunk)", "records": "\(outcomes.count)",
        "objects": "\(staged.objects.count)", "duration": "\(ContinuousClock.now - started)",
      ]
    )
    return outcomes
  }

  package func ledger(jobID: String, tenant: Tenant) async throws -> [Int: [RecordOutcome]] {
    try await self.base.ledger(jobID: jobID, tenant: tenant)
  }

  /// Forgets the job's ledger rows and deletes everything it staged in S3.
  package func removeLedger(jobID: String, tenant: Tenant) async throws {
    try await self.base.removeLedger(jobID: jobID, tenant: tenant)
    let folder = self.staging.jobFolder(tenant: tenant, jobID: jobID)
    let keys = try await self.s3.listObjects(bucket: self.staging.bucket, prefix: folder).map(\.key)
    let failures = try await self.s3.deleteObjects(bucket: self.staging.bucket, keys: keys)
    if let failure = failures.first {
      throw BulkError(
        code: .unavailable,
        message: "\(failures.count) staged object(s) of job \(jobID) could not be deleted, e.g. \(failure.key): \(failure.message)"
      )
    }
  }

  package func export(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
    let export = RedshiftExport(staging: self.staging, s3: self.s3, statements: self.statements, base: self.base)
    return try await export.run(request, tenant: tenant, into: sink)
  }

  /// The cluster's slices: configured, or asked once.
  private func clusterSlices() async throws -> Int {
    if let slices = self.slices.withLock({ $0 }) { return slices }
    let counted = try await self.base.withLoaderConnection { connection -> Int in
      let rows = try connection.query("SELECT COUNT(*) FROM stv_slices")
      return rows.first.flatMap { $0.first ?? nil }.flatMap { Int($0) } ?? 1
    }
    let slices = max(1, counted)
    self.slices.withLock { $0 = slices }
    return slices
  }
}
