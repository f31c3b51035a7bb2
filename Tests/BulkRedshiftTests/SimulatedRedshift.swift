import BulkPostgres
import BulkRedshift
import BulkS3

/// A test double of the two statements only Redshift runs, `COPY … FROM 's3://…'` and
/// `UNLOAD … TO 's3://…'`: it does what they do, from and to the same S3 objects (moto), on the
/// test PostgreSQL, so that everything around them runs for real. It lives here, never in
/// `Sources/`: a server runs `RedshiftSQLStatements` on a cluster.
struct SimulatedRedshift: RedshiftS3Statements {
  let s3: S3Client

  func copy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
    try self.simulateCopy(copy, on: connection)
  }

  func unload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
    try self.simulateUnload(unload, on: connection)
  }
}
