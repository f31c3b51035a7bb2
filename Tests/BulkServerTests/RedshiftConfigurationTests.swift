import BulkCore
import BulkServer
import BulkTestSupport
import Foundation
import Logging
import Testing

/// A `redshift://` warehouse is refused at start, naming the flag, until its S3 staging is whole.
@Suite("Redshift staging settings")
struct RedshiftConfigurationTests {
  @Test(
    "incomplete or contradictory Redshift settings stop the server at start",
    arguments: [
      (
        "redshift://loader@127.0.0.1:1/dev", nil, nil, nil,
        "a redshift:// warehouse loads and exports through S3: give --redshift-s3-prefix s3://bucket/prefix"
      ),
      (
        "redshift://loader@127.0.0.1:1/dev", "s3://bucket/prefix", nil, nil,
        "a redshift:// warehouse needs --redshift-iam-role (the role Redshift assumes to read and write --redshift-s3-prefix), or SPECTRA_REDSHIFT_ACCESS_KEY_ID and SPECTRA_REDSHIFT_SECRET_ACCESS_KEY"
      ),
      (
        "redshift://loader@127.0.0.1:1/dev", "s3://bucket/prefix", "arn:aws:iam::1:role/r", "AKID",
        "give --redshift-iam-role or the SPECTRA_REDSHIFT_* keys, not both"
      ),
      (
        "redshift://loader@127.0.0.1:1/dev", "s3:///prefix", "arn:aws:iam::1:role/r", nil,
        "--redshift-s3-prefix 's3:///prefix' names no bucket"
      ),
      ("postgresql://loader@127.0.0.1:1/dev", "s3://bucket/prefix", nil, nil, "--redshift-s3-prefix is for a redshift:// warehouse"),
      (nil, "s3://bucket/prefix", nil, nil, "--redshift-s3-prefix is for a redshift:// warehouse"),
    ] as [(String?, String?, String?, String?, String)]
  )
  func refused(warehouse: String?, prefix: String?, role: String?, key: String?, message: String) async throws {
    try await withTemporaryDirectory { directory in
      var configuration = ServerConfiguration()
      configuration.dataDirectory = directory
      configuration.grpcPort = 0
      configuration.httpPort = 0
      configuration.developmentToken = "token"
      configuration.warehouseURL = warehouse
      configuration.redshift.s3Prefix = prefix
      configuration.redshift.iamRole = role
      configuration.redshift.accessKeyID = key
      configuration.redshift.secretAccessKey = key.map { _ in "secret" }
      let error = #expect(throws: BulkError.self) {
        try BulkServer(
          configuration: configuration,
          logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
          announce: { _ in }
        )
      }
      #expect(error?.message == message)
    }
  }
}
