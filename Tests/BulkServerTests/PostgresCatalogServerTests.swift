import BulkCore
import BulkProto
import BulkServer
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Testing

/// A server on `--catalog postgresql://…` keeps its jobs in PostgreSQL, where another instance
/// (here `psql`) finds them.
@Suite("A server on the PostgreSQL catalog", .timeLimit(.minutes(3)))
struct PostgresCatalogServerTests {
  @Test("a job created through the server is stored in the catalog's schema in PostgreSQL")
  func jobStoredInPostgres() async throws {
    let cluster = try await PostgresCluster.shared()
    let database = "catalog_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    try cluster.createDatabase(database)
    try await withTemporaryDirectory { directory in
      var configuration = ServerConfiguration()
      configuration.dataDirectory = "\(directory)/data"
      configuration.grpcPort = 0
      configuration.httpPort = 0
      configuration.developmentToken = "catalog-token"
      configuration.catalog = .postgres(url: cluster.url(database: database))
      // Room for the catalog's and the events' connections to close when a loaded machine is slow.
      configuration.shutdownGrace = .seconds(60)
      let server = try BulkServer(
        configuration: configuration,
        logger: Logger(label: "catalog", factory: { _ in SwiftLogNoOpLogHandler() }),
        announce: { _ in }
      )
      let job = try await withThrowingTaskGroup { group in
        group.addTask { try await server.run() }
        defer { group.cancelAll() }
        let transport = try HTTP2ClientTransport.Posix(
          target: .ipv4(address: "127.0.0.1", port: try await server.grpcPort()),
          transportSecurity: .plaintext
        )
        var request = Spectra_Bulk_V1_CreateJobRequest()
        request.operation = .insert
        request.object = "customers"
        return try await withGRPCClient(transport: transport) { client in
          try await Spectra_Bulk_V1_BulkService.Client(wrapping: client).createJob(
            request,
            metadata: ["authorization": "Bearer catalog-token"]
          )
        }
      }
      let stored = try cluster.psql(
        "SELECT tenant_id, state, operation, object FROM spectra.jobs WHERE id = '\(job.jobID)'",
        database: database
      )
      #expect(stored == "\(TenantDirectory.developmentTenantID)|Open|insert|customers\n")
      #expect(!FileManager.default.fileExists(atPath: "\(directory)/data/catalog.sqlite"))
    }
  }

  @Test("a page token one instance issued pages on another: instances on one catalog share the signing key")
  func sharedSigningKey() async throws {
    let cluster = try await PostgresCluster.shared()
    let database = "catalog_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    try cluster.createDatabase(database)
    try await withTemporaryDirectory { directory in
      let servers = try ["a", "b"].map { name in
        var configuration = ServerConfiguration()
        configuration.dataDirectory = "\(directory)/\(name)"
        configuration.grpcPort = 0
        configuration.httpPort = 0
        configuration.developmentToken = "catalog-token"
        configuration.catalog = .postgres(url: cluster.url(database: database))
        configuration.shutdownGrace = .seconds(60)
        return try BulkServer(
          configuration: configuration,
          logger: Logger(label: name, factory: { _ in SwiftLogNoOpLogHandler() }),
          announce: { _ in }
        )
      }
      let metadata: Metadata = ["authorization": "Bearer catalog-token"]
      let (created, paged) = try await withThrowingTaskGroup { group in
        for server in servers { group.addTask { try await server.run() } }
        defer { group.cancelAll() }
        func client(_ server: BulkServer) async throws -> HTTP2ClientTransport.Posix {
          try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: try await server.grpcPort()),
            transportSecurity: .plaintext
          )
        }
        let first = try await withGRPCClient(transport: try await client(servers[0])) { grpc in
          let bulk = Spectra_Bulk_V1_BulkService.Client(wrapping: grpc)
          var create = Spectra_Bulk_V1_CreateJobRequest()
          create.operation = .insert
          create.object = "customers"
          var ids: [String] = []
          for _ in 0 ..< 2 { ids.append(try await bulk.createJob(create, metadata: metadata).jobID) }
          var list = Spectra_Bulk_V1_ListJobsRequest()
          list.limit = 1
          return (ids, try await bulk.listJobs(list, metadata: metadata))
        }
        let second = try await withGRPCClient(transport: try await client(servers[1])) { grpc in
          var list = Spectra_Bulk_V1_ListJobsRequest()
          list.limit = 1
          list.pageToken = first.1.nextPageToken
          return try await Spectra_Bulk_V1_BulkService.Client(wrapping: grpc).listJobs(list, metadata: metadata)
        }
        return (first.0, first.1.jobs.map(\.jobID) + second.jobs.map(\.jobID))
      }
      // Newest first: the page from the other instance continues where the first ended.
      #expect(paged == created.reversed())
    }
  }
}
