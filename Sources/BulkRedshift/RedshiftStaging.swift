package import BulkCore
internal import BulkPostgres

/// Where Redshift jobs stage their data in S3, and how Redshift reads and writes it there.
///
/// Every object of a job lives under `<prefix>/<tenant>/<job>/`: the gzip CSV objects and the
/// manifest of each chunk's `COPY` under `load/`, the parts and manifest of a query's `UNLOAD`
/// under `unload/`. Deleting a job deletes that folder.
package struct RedshiftStaging: Hashable, Sendable {
  /// How Redshift reaches the S3 location: the role it assumes (the recommended way), or keys
  /// handed to `COPY … CREDENTIALS`.
  package enum Authorization: Hashable, Sendable {
    /// `IAM_ROLE 'arn:aws:iam::…:role/…'`.
    case iamRole(String)
    /// `CREDENTIALS 'aws_access_key_id=…;aws_secret_access_key=…[;token=…]'`.
    case keys(accessKeyID: String, secretAccessKey: String, sessionToken: String?)
  }

  /// The bucket.
  package var bucket: String
  /// The key prefix, without a leading or trailing `/`; empty for the bucket's root.
  package var prefix: String
  /// How Redshift reaches the bucket.
  package var authorization: Authorization
  /// The bucket's region when it differs from the cluster's (`COPY`/`UNLOAD … REGION`).
  package var region: String?
  /// The cluster's slices, which the objects of one `COPY` come in multiples of; `nil` asks the
  /// cluster (`stv_slices`) once.
  package var slices: Int?
  /// The fewest uncompressed bytes of CSV per object: a chunk is split into more objects only
  /// while each keeps at least this much. The default, 4 MiB, is about 1 MB of gzip, the
  /// smallest object Redshift's loading guidance recommends.
  package var minimumObjectBytes: Int

  /// The staging location `s3://bucket/prefix`.
  ///
  /// - Throws: `BulkError.invalidArgument` naming `--redshift-s3-prefix` for anything else.
  package init(
    location: String,
    authorization: Authorization,
    region: String? = nil,
    slices: Int? = nil,
    minimumObjectBytes: Int = 4 << 20
  ) throws {
    guard location.hasPrefix("s3://") else {
      throw BulkError.invalidArgument("--redshift-s3-prefix must be an s3://bucket/prefix URL, not '\(location)'")
    }
    let path = location.dropFirst("s3://".count)
    let bucket = path.prefix { $0 != "/" }
    guard !bucket.isEmpty else {
      throw BulkError.invalidArgument("--redshift-s3-prefix '\(location)' names no bucket")
    }
    guard !location.contains("'"), !location.contains("\\") else {
      throw BulkError.invalidArgument("--redshift-s3-prefix '\(location)' holds a quote or a backslash")
    }
    if let slices, slices < 1 {
      throw BulkError.invalidArgument("--redshift-slices must be at least 1, not \(slices)")
    }
    self.bucket = String(bucket)
    self.prefix = String(path.dropFirst(bucket.count).drop { $0 == "/" }.reversed().drop { $0 == "/" }.reversed())
    self.authorization = authorization
    self.region = region
    self.slices = slices
    self.minimumObjectBytes = max(1, minimumObjectBytes)
  }

  /// The folder (ending in `/`) of everything one job stages.
  package func jobFolder(tenant: Tenant, jobID: String) -> String {
    (self.prefix.isEmpty ? "" : self.prefix + "/") + "\(tenant.id)/\(jobID)/"
  }

  /// `s3://bucket/key`.
  package func url(_ key: String) -> String {
    "s3://\(self.bucket)/\(key)"
  }

  /// The clauses that let Redshift read or write the location: the authorization and, when
  /// set, the region.
  package var accessClauses: String {
    var clauses: String
    switch self.authorization {
    case .iamRole(let role):
      clauses = "IAM_ROLE \(SQLDialect.literal(role))"
    case .keys(let accessKeyID, let secretAccessKey, let sessionToken):
      var credentials = "aws_access_key_id=\(accessKeyID);aws_secret_access_key=\(secretAccessKey)"
      if let sessionToken { credentials += ";token=\(sessionToken)" }
      clauses = "CREDENTIALS \(SQLDialect.literal(credentials))"
    }
    if let region = self.region { clauses += " REGION \(SQLDialect.literal(region))" }
    return clauses
  }
}
