import BulkCore
import BulkProto
import BulkServer
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import SwiftProtobuf
import Testing

/// Two tenants of one server on a real PostgreSQL warehouse: tenant A's query job spells the
/// exploit that once read tenant B's rows (the role reset to the loader's, then SQL passed as
/// text, both escaped past the word filter), through gRPC, as a client would.
@Suite("Tenant isolation, end to end")
struct TenantIsolationEndToEndTests {
  @Test("A's role-reset exploit fails with permission denied while B reads its own rows; A's login is provisioned 0600")
  func exploit() async throws {
    let cluster = try await PostgresCluster.shared()
    let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
    let (a, b) = ("e2e_a_\(suffix)", "e2e_b_\(suffix)")
    try cluster.psql(
      """
      CREATE SCHEMA \(a); CREATE TABLE \(a).items (id int PRIMARY KEY); INSERT INTO \(a).items VALUES (1);
      CREATE SCHEMA \(b); CREATE TABLE \(b).secret (id int PRIMARY KEY, value text); INSERT INTO \(b).secret VALUES (1, 'b-secret');
      """
    )
    try await ServerEndToEndTests.withDataDirectory { directory in
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let tenantsFile = "\(directory)/tenants.json"
      try Data(
        """
        {"tenants": [
          {"id": "tenant-a", "tokens": ["token-a"], "schema": "\(a)"},
          {"id": "tenant-b", "tokens": ["token-b"], "schema": "\(b)"}
        ]}
        """.utf8
      ).write(to: URL(fileURLWithPath: tenantsFile))
      var configuration = ServerConfiguration()
      configuration.dataDirectory = directory
      configuration.grpcPort = 0
      configuration.httpPort = 0
      configuration.tenantsFile = tenantsFile
      configuration.warehouseURL = cluster.url()
      let server = try BulkServer(
        configuration: configuration,
        logger: Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() }),
        announce: { _ in }
      )
      try await withThrowingTaskGroup { group in
        group.addTask { try await server.run() }
        let port = try await server.grpcPort()
        try await ServerEndToEndTests.withClient(port: port) { client in
          let escapedSetConfig = #"U&"set_confi\0067""#
          let escapedQueryToXML = #"U&"query_to_xm\006C""#
          let exploit = try await Self.query(
            client,
            "SELECT \(escapedSetConfig)('role', 'none', true), \(escapedQueryToXML)('SELECT value FROM \(b).secret', true, true, '')",
            object: "items",
            token: "token-a"
          )
          #expect(exploit.state == .failed)
          #expect(exploit.errorMessage.contains("permission denied for schema \(b)"), "\(exploit.errorMessage)")
          #expect(!exploit.errorMessage.contains("b-secret"))

          let own = try await Self.query(client, "SELECT value FROM secret", object: "secret", token: "token-b")
          #expect(own.state == .jobComplete, "\(own.errorMessage)")
          #expect(own.numberRecordsProcessed == 1)
        }
        let password = "\(directory)/query-roles/spectra_query_\(a).password"
        #expect(try FileManager.default.attributesOfItem(atPath: password)[.posixPermissions] as? Int == 0o600)
        group.cancelAll()
      }
    }
  }

  static func query(
    _ client: ServerEndToEndTests.Client,
    _ sql: String,
    object: String,
    token: String
  ) async throws -> Spectra_Bulk_V1_Job {
    let metadata: Metadata = ["authorization": "Bearer \(token)"]
    let job = try await client.createJob(
      .with {
        $0.operation = .query
        $0.object = object
        $0.query = sql
      },
      metadata: metadata
    )
    return try await ServerEndToEndTests.closeAndWatch(job.jobID, client: client, metadata: metadata)
  }
}
