/// How the server reaches S3 (or an S3-compatible store): for Redshift's staging today.
///
/// The client's own credentials come from the AWS SDKs' chain (environment, shared files with
/// `AWS_PROFILE`, web identity, the container endpoint, IMDSv2).
package struct S3Setting: Hashable, Sendable {
  /// The region requests are signed for; `AWS_REGION` (or `AWS_DEFAULT_REGION`), else
  /// `us-east-1`, when `nil`.
  package var region: String?
  /// A custom endpoint, e.g. `http://127.0.0.1:9000`; AWS's regional endpoint when `nil`.
  package var endpoint: String?
  /// `path` or `virtual`; path-style with a custom endpoint, virtual-hosted without, when `nil`.
  package var addressing: String?
  /// Server-side encryption of the objects written: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS);
  /// the bucket's default when `nil`.
  package var encryption: String?
  /// The KMS key id or ARN for `aws:kms`; the account's default key when `nil`.
  package var kmsKeyID: String?

  package init() {}
}

/// Where Redshift jobs stage their data, and how Redshift reaches it.
package struct RedshiftSetting: Hashable, Sendable {
  /// `s3://bucket/prefix`.
  package var s3Prefix: String?
  /// The IAM role Redshift assumes to read and write the prefix.
  package var iamRole: String?
  /// Keys for `COPY … CREDENTIALS` instead of a role; from the environment only.
  package var accessKeyID: String?
  package var secretAccessKey: String?
  package var sessionToken: String?
  /// The cluster's slices; asked of the cluster when `nil`.
  package var slices: Int?

  package init() {}
}
