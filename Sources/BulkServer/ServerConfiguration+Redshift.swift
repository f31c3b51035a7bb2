internal import BulkCore
internal import BulkRedshift
internal import BulkS3
internal import Foundation

extension ServerConfiguration {
  /// The staging of a `redshift://` warehouse, from `--redshift-s3-prefix` and
  /// `--redshift-iam-role` (or the `SPECTRA_REDSHIFT_*` keys).
  ///
  /// - Throws: `BulkError.invalidArgument` naming what is missing or contradictory.
  func redshiftStaging() throws -> RedshiftStaging {
    let settings = self.redshift
    guard let prefix = settings.s3Prefix else {
      throw BulkError.invalidArgument(
        "a redshift:// warehouse loads and exports through S3: give --redshift-s3-prefix s3://bucket/prefix"
      )
    }
    let authorization: RedshiftStaging.Authorization
    switch (settings.iamRole, settings.accessKeyID, settings.secretAccessKey) {
    case (let role?, nil, nil):
      authorization = .iamRole(role)
    case (nil, let key?, let secret?):
      authorization = .keys(accessKeyID: key, secretAccessKey: secret, sessionToken: settings.sessionToken)
    case (nil, nil, nil):
      throw BulkError.invalidArgument(
        "a redshift:// warehouse needs --redshift-iam-role (the role Redshift assumes to read and write "
          + "--redshift-s3-prefix), or SPECTRA_REDSHIFT_ACCESS_KEY_ID and SPECTRA_REDSHIFT_SECRET_ACCESS_KEY"
      )
    case (_?, _, _):
      throw BulkError.invalidArgument("give --redshift-iam-role or the SPECTRA_REDSHIFT_* keys, not both")
    default:
      throw BulkError.invalidArgument("SPECTRA_REDSHIFT_ACCESS_KEY_ID and SPECTRA_REDSHIFT_SECRET_ACCESS_KEY go together")
    }
    return try RedshiftStaging(location: prefix, authorization: authorization, slices: settings.slices)
  }

  /// The S3 client's configuration; the region from `--s3-region`, else `AWS_REGION` or
  /// `AWS_DEFAULT_REGION` in `environment`, else `us-east-1`.
  func s3Configuration(environment: [String: String]) throws -> S3Configuration {
    let settings = self.s3
    let region = settings.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
    let endpoint = try settings.endpoint.map { text in
      guard let url = URL(string: text) else { throw BulkError.invalidArgument("--s3-endpoint \(text) is not a URL") }
      return url
    }
    let encryption: S3Configuration.Encryption? =
      switch settings.encryption {
      case "AES256": .s3
      case "aws:kms": .kms(keyID: settings.kmsKeyID)
      default: nil
      }
    if settings.kmsKeyID != nil && settings.encryption != "aws:kms" {
      throw BulkError.invalidArgument("--s3-kms-key-id needs --s3-sse aws:kms")
    }
    let configuration = S3Configuration(
      region: region,
      endpoint: endpoint,
      addressing: settings.addressing.map { $0 == "path" ? .path : .virtualHosted },
      encryption: encryption
    )
    do {
      try configuration.validate()
    } catch {
      throw BulkError.invalidArgument("the S3 settings are not usable: \(error)")
    }
    return configuration
  }
}
