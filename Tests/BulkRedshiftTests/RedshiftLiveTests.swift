import BulkCore
import BulkPostgres
import BulkRedshift
import BulkS3
import Foundation
import Logging
import Testing

/// The Redshift path end to end on a real cluster and a real bucket: `COPY … FROM 's3://…'` and
/// `UNLOAD` as Redshift runs them (`RedshiftSQLStatements`), which the other suites replace with
/// `SimulatedRedshift`.
///
/// It runs only when `SPECTRA_TEST_REDSHIFT_URL` (`redshift://user:password@host:5439/db`, a user
/// that may create schemas and users), `SPECTRA_TEST_REDSHIFT_S3_PREFIX` (`s3://bucket/prefix`)
/// and `SPECTRA_TEST_REDSHIFT_IAM_ROLE` (a role the cluster may assume, with read and write on the
/// prefix) are set; the S3 client takes its credentials from the AWS chain (`AWS_PROFILE`,
/// `AWS_ACCESS_KEY_ID`, …) and its region from `AWS_REGION`. Without them it is reported as
/// skipped, never as passed.
@Suite(
  "Redshift, live",
  .enabled(
    if: ["SPECTRA_TEST_REDSHIFT_URL", "SPECTRA_TEST_REDSHIFT_S3_PREFIX", "SPECTRA_TEST_REDSHIFT_IAM_ROLE"].allSatisfy {
      ProcessInfo.processInfo.environment[$0]?.isEmpty == false
    },
    "needs SPECTRA_TEST_REDSHIFT_URL, SPECTRA_TEST_REDSHIFT_S3_PREFIX and SPECTRA_TEST_REDSHIFT_IAM_ROLE"
  )
)
struct RedshiftLiveTests {
  @Test("loads through COPY from S3 (bad values rejected per record, keys staged twice refused, each chunk once), then exports through UNLOAD as a query user")
  func load() async throws {
    let environment = ProcessInfo.processInfo.environment
    let schema = "spectra_live_" + String(UInt32.random(in: 0 ... .max), radix: 16)
    let logger = Logger(label: "live")
    let base = PostgresWarehouse(url: environment["SPECTRA_TEST_REDSHIFT_URL"]!, poolSize: 2, logger: logger)
    #expect(base.dialect == .redshift)
    let http = S3HTTPTransport()
    let s3 = try S3Client(
      configuration: S3Configuration(region: environment["AWS_REGION"] ?? "us-east-1"),
      credentials: S3CredentialChain.standard(environment: environment, http: http),
      http: http
    )
    let warehouse = RedshiftWarehouse(
      base: base,
      staging: try RedshiftStaging(
        location: environment["SPECTRA_TEST_REDSHIFT_S3_PREFIX"]!,
        authorization: .iamRole(environment["SPECTRA_TEST_REDSHIFT_IAM_ROLE"]!)
      ),
      s3: s3,
      logger: logger
    )
    let tenant = Tenant(id: "live", schema: schema)
    do {
      _ = try await base.withLoaderConnection { connection in
        try connection.execute("CREATE SCHEMA \(Identifier.quoted(schema))")
        try connection.execute(
          "CREATE TABLE \(Identifier.quoted(schema)).orders (id INTEGER NOT NULL, name VARCHAR(10) NOT NULL, amount DECIMAL(12,2), PRIMARY KEY (id))"
        )
      }
      let table = try #require(try await warehouse.describe(table: "orders", tenant: tenant))
      let insert = ChunkWork(
        jobID: "live-job", chunk: 0, operation: .insert, table: table, keyColumn: "", columns: ["id", "name", "amount"],
        records: [
          ChunkRecord(number: 1, values: [.integer(1), .text("ann"), .number("1.5")]),
          ChunkRecord(number: 2, values: [.integer(2), .text("much too long a name"), .number("2")]),
          ChunkRecord(number: 3, values: [.integer(3), .text("cy"), .text("x")]),
          ChunkRecord(number: 4, values: [.integer(4), .null, .null]),
        ]
      )
      let outcomes = try await warehouse.apply(insert, tenant: tenant)
      #expect(outcomes.map(Self.code) == ["created", "VALUE_TOO_LONG", "INVALID_VALUE", "NOT_NULL"])
      #expect(try await warehouse.apply(insert, tenant: tenant) == outcomes)
      var upsert = insert
      upsert.chunk = 1
      upsert.operation = .upsert
      upsert.keyColumn = "id"
      upsert.records = [
        ChunkRecord(number: 5, values: [.integer(1), .text("new"), .null]),
        ChunkRecord(number: 6, values: [.integer(5), .text("five"), .null]),
        ChunkRecord(number: 7, values: [.integer(5), .text("again"), .null]),
      ]
      #expect(try await warehouse.apply(upsert, tenant: tenant).map(Self.code) == ["updated", "created", "DUPLICATE_KEY"])
      let rows = try await base.withLoaderConnection { connection in
        try connection.query("SELECT id, name FROM \(Identifier.quoted(schema)).orders ORDER BY id")
      }
      #expect(rows == [["1", "new"], ["5", "five"]])

      // The export, through UNLOAD, as a query user that may read the schema and nothing else.
      let user = schema + "_query"
      let password = "Aa1" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20)
      let role = environment["SPECTRA_TEST_REDSHIFT_IAM_ROLE"]!
      _ = try await base.withLoaderConnection { connection in
        try connection.execute("CREATE USER \(Identifier.quoted(user)) PASSWORD '\(password)'")
        try connection.execute("GRANT USAGE ON SCHEMA \(Identifier.quoted(schema)) TO \(Identifier.quoted(user))")
        try connection.execute("GRANT SELECT ON ALL TABLES IN SCHEMA \(Identifier.quoted(schema)) TO \(Identifier.quoted(user))")
        try connection.execute("GRANT ASSUMEROLE ON \(SQLDialect.literal(role)) TO \(Identifier.quoted(user)) FOR UNLOAD")
      }
      var queryURL = URLComponents(string: environment["SPECTRA_TEST_REDSHIFT_URL"]!)!
      queryURL.user = user
      queryURL.password = nil
      let reader = Tenant(id: "live", schema: schema, queryLogin: QueryLogin(.url(queryURL.string!), password: password))
      let collector = RedshiftExportTests.Collector()
      let count = try await warehouse.export(
        QueryRequest(
          jobID: "live-query", sql: "SELECT id, name FROM orders ORDER BY id", output: .csv(delimiter: UInt8(ascii: ",")),
          timeout: .seconds(300), cancellation: QueryCancellation()
        ),
        tenant: reader,
        into: collector
      )
      #expect(count == 2)
      #expect(collector.columns.map(\.name) == ["id", "name"])
      #expect(Set(String(decoding: collector.csv, as: UTF8.self).split(separator: "\n")) == ["1,new", "5,five"])
      try await warehouse.removeLedger(jobID: "live-query", tenant: tenant)
      _ = try? await base.withLoaderConnection { connection in
        try connection.execute("REVOKE ALL ON SCHEMA \(Identifier.quoted(schema)) FROM \(Identifier.quoted(user))")
        try connection.execute("REVOKE ALL ON ALL TABLES IN SCHEMA \(Identifier.quoted(schema)) FROM \(Identifier.quoted(user))")
        try connection.execute("REVOKE ASSUMEROLE ON \(SQLDialect.literal(role)) FROM \(Identifier.quoted(user)) FOR UNLOAD")
        try connection.execute("DROP USER \(Identifier.quoted(user))")
      }
      try await warehouse.removeLedger(jobID: "live-job", tenant: tenant)
    } catch {
      Issue.record(error)
    }
    _ = try? await base.withLoaderConnection { try $0.execute("DROP SCHEMA \(Identifier.quoted(schema)) CASCADE") }
    warehouse.shutdown()
    try await http.shutdown()
  }

  static func code(_ outcome: RecordOutcome) -> String {
    switch outcome {
    case .succeeded(let created): created ? "created" : "updated"
    case .failed(let code, _): code
    }
  }
}
