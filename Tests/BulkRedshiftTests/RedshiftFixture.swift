import BulkCore
import BulkPostgres
import BulkRedshift
import BulkS3
import BulkTestSupport
import Foundation
import Logging

/// The moto these tests share. Its request authentication is off: with it on, moto refuses every
/// ListObjectsV2 whose prefix holds a `/` (getmoto/moto#5948, boto3's requests as much as ours),
/// and the warehouse lists a job's folder to delete it. BulkS3Tests check signatures against an
/// authenticating moto.
private let unauthenticatedMoto = Task { try await MotoServer.launch(authentication: false) }

/// A Redshift warehouse on a schema of its own in the test PostgreSQL and a bucket of its own in
/// moto, with `COPY` and `UNLOAD` run by `SimulatedRedshift`.
struct RedshiftFixture {
  let moto: MotoServer
  let http: S3HTTPTransport
  let s3: S3Client
  let bucket: String
  let schema: PostgresTestSchema
  let base: PostgresWarehouse
  let warehouse: RedshiftWarehouse
  let tenant: Tenant

  /// Runs `setup` in a new schema, makes a bucket, and a warehouse staging under
  /// `s3://<bucket>/staged`.
  static func make(_ setup: String, slices: Int = 1, minimumObjectBytes: Int = 4 << 20) async throws -> RedshiftFixture {
    let moto = try await unauthenticatedMoto.value
    let schema = try await PostgresTestSchema.make(setup)
    let http = S3HTTPTransport()
    let s3 = try S3Client(
      configuration: S3Configuration(
        region: "us-east-1",
        endpoint: URL(string: moto.endpoint)!,
        retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10))
      ),
      credentials: S3StaticCredentials(S3Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)),
      http: http
    )
    let bucket = "redshift-" + schema.name.replacingOccurrences(of: "_", with: "-")
    try await s3.createBucket(bucket)
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let base = PostgresWarehouse(url: schema.cluster.url(), poolSize: 4, dialect: .redshift, logger: logger)
    let warehouse = RedshiftWarehouse(
      base: base,
      staging: try RedshiftStaging(
        location: "s3://\(bucket)/staged",
        authorization: .iamRole(moto.roleARN),
        slices: slices,
        minimumObjectBytes: minimumObjectBytes
      ),
      s3: s3,
      statements: SimulatedRedshift(s3: s3),
      logger: logger
    )
    return RedshiftFixture(
      moto: moto, http: http, s3: s3, bucket: bucket, schema: schema, base: base, warehouse: warehouse,
      tenant: Tenant(id: "acme", schema: schema.name)
    )
  }

  /// `psql`'s unaligned rows of `query` run in the schema, without the last line feed.
  func sql(_ query: String) throws -> String {
    var output = try self.schema.psql(query)
    if output.hasSuffix("\n") { output.removeLast() }
    return output
  }

  /// The keys under `prefix` in the bucket.
  func keys(under prefix: String = "") async throws -> [String] {
    try await self.s3.listObjects(bucket: self.bucket, prefix: prefix).map(\.key)
  }

  /// Closes the connections and the HTTP client.
  func shutdown() async throws {
    self.warehouse.shutdown()
    try await self.http.shutdown()
  }
}
