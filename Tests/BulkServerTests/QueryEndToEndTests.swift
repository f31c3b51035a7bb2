import BulkProto
import BulkServer
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing

/// A query job through the real server over loopback gRPC, the client asking for gzip.
@Suite("Query jobs, end to end")
struct QueryEndToEndTests {
  typealias Client = ServerEndToEndTests.Client

  @Test("a query job on the demo tables completes and its rows download gzip-compressed, typed and paged")
  func gzipDownload() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let server = try ServerEndToEndTests.inProcessServer(directory: directory, demo: true)
      try await withThrowingTaskGroup { group in
        group.addTask { try await server.run() }
        let port = try await server.grpcPort()
        var transportConfig = HTTP2ClientTransport.Posix.Config.defaults
        transportConfig.compression = .init(algorithm: .gzip, enabledAlgorithms: .all)
        let transport = try HTTP2ClientTransport.Posix(
          target: .ipv4(address: "127.0.0.1", port: port),
          transportSecurity: .plaintext,
          config: transportConfig
        )
        try await withGRPCClient(transport: transport) { grpc in
          let client = Client(wrapping: grpc)
          var options = CallOptions.defaults
          options.compression = .gzip

          let csv = try await Self.run(
            client,
            "SELECT c.name, s.amount FROM sales s JOIN customers c ON c.id = s.customer_id ORDER BY s.id",
            contentType: .csv,
            options: options
          )
          #expect(csv.state == .jobComplete, "\(csv.errorMessage)")
          #expect(csv.numberRecordsProcessed == 4)
          let document = try await Self.download(client, csv.jobID, maxRecords: 0, options: options)
          #expect(
            String(decoding: document.data, as: UTF8.self)
              == "name,amount\nAda Lovelace,120.5\nGrace Hopper,89.99\nAda Lovelace,42\nAlan Turing,310.25\n"
          )
          #expect(document.next == "")

          // Two rows a page: the locator of each page starts the next.
          var pages: [String] = []
          var locator = ""
          repeat {
            let page = try await Self.download(client, csv.jobID, locator: locator, maxRecords: 2, options: options)
            pages.append(String(decoding: page.data, as: UTF8.self))
            locator = page.next
          } while !locator.isEmpty
          #expect(
            pages == [
              "name,amount\nAda Lovelace,120.5\nGrace Hopper,89.99\n",
              "name,amount\nAda Lovelace,42\nAlan Turing,310.25\n",
            ]
          )

          let typed = try await Self.run(
            client,
            "SELECT id, name FROM customers ORDER BY id",
            contentType: .recordBatch,
            options: options
          )
          let rows = try await Self.download(client, typed.jobID, maxRecords: 0, options: options).records
          #expect(rows.columns == ["id", "name"])
          #expect(rows.rows.map { $0.values[0].intValue } == [1, 2, 3])
          #expect(rows.rows.first?.values[1].stringValue == "Ada Lovelace")

          let refused = try await Self.run(client, "DELETE FROM customers", contentType: .csv, options: options)
          #expect(refused.state == .failed)
          #expect(refused.errorMessage.contains("SELECT"))
        }
        group.cancelAll()
      }
    }
  }

  static func run(
    _ client: Client,
    _ sql: String,
    contentType: Spectra_Bulk_V1_ContentType,
    options: CallOptions
  ) async throws -> Spectra_Bulk_V1_Job {
    let job = try await client.createJob(
      .with {
        $0.operation = .query
        $0.object = "customers"
        $0.query = sql
        $0.contentType = contentType
      },
      metadata: ServerEndToEndTests.auth,
      options: options
    )
    return try await ServerEndToEndTests.closeAndWatch(job.jobID, client: client, options: options)
  }

  static func download(
    _ client: Client,
    _ jobID: String,
    locator: String = "",
    maxRecords: Int64,
    options: CallOptions
  ) async throws -> (data: Data, records: Spectra_Bulk_V1_RecordBatch, next: String) {
    let request = Spectra_Bulk_V1_GetJobResultsRequest.with {
      $0.jobID = jobID
      $0.locator = locator
      $0.maxRecords = maxRecords
    }
    return try await client.getJobResults(request, metadata: ServerEndToEndTests.auth, options: options) { response in
      var data = Data()
      var records = Spectra_Bulk_V1_RecordBatch()
      var next = ""
      for try await chunk in response.messages {
        data.append(chunk.data)
        if records.columns.isEmpty { records.columns = chunk.records.columns }
        records.rows += chunk.records.rows
        next = chunk.nextLocator
      }
      return (data, records, next)
    }
  }
}
