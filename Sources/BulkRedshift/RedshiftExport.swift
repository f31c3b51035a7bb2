internal import BulkCore
internal import BulkPostgres
internal import BulkS3

/// A query job on Redshift: the tenant's statement inside `UNLOAD`, on the tenant's own login,
/// and the unloaded parts streamed from S3 to the job's results.
struct RedshiftExport: Sendable {
  let staging: RedshiftStaging
  let s3: S3Client
  let statements: any RedshiftS3Statements
  let base: PostgresWarehouse

  func run(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
    throw BulkError.queryRefused("Redshift exports are being built (issue #16)")
  }
}
