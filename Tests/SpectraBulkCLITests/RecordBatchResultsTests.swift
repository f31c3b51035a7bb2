internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
internal import SwiftProtobuf
internal import Testing

#if canImport(FoundationNetworking)
internal import FoundationNetworking
#endif

/// `spectra-bulk results` of a job loaded with typed rows, whose gRPC results are typed too.
@Suite("spectra-bulk results of typed rows, end to end")
struct RecordBatchResultsTests {
  /// A record-batch insert of two rows, one refused, created and closed with the generated
  /// client; its id.
  static func loadTypedRows(_ server: DemoServer) async throws -> String {
    let transport = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: server.grpcPort),
      transportSecurity: .plaintext
    )
    return try await withGRPCClient(transport: transport) { grpc in
      let client = Spectra_Bulk_V1_BulkService.Client(wrapping: grpc)
      let metadata: Metadata = ["authorization": "Bearer \(DemoServer.token)"]
      let job = try await client.createJob(
        .with {
          $0.operation = .insert
          $0.object = "customers"
          $0.contentType = .recordBatch
        },
        metadata: metadata
      )
      let rows: [[Spectra_Bulk_V1_Value]] = [
        [
          .with { $0.intValue = 600 }, .with { $0.stringValue = "Quoted, \"name\"" },
          .with { $0.stringValue = "q@example.com" },
        ],
        [.with { $0.intValue = 601 }, .with { $0.nullValue = .nullValue }, .with { $0.stringValue = "n@example.com" }],
      ]
      _ = try await client.uploadJobData(metadata: metadata) { writer in
        try await writer.write(
          .with {
            $0.jobID = job.jobID
            $0.records.columns = ["id", "name", "email"]
            $0.records.rows = rows.map { values in .with { $0.values = values } }
          }
        )
      }
      _ = try await client.updateJobState(
        .with {
          $0.jobID = job.jobID
          $0.state = .uploadComplete
        },
        metadata: metadata
      )
      return job.jobID
    }
  }

  /// The body of `GET /v1/bulk/jobs/{id}/results?result_set=…`.
  static func restResults(_ server: DemoServer, job: String, set: String) async throws -> String {
    var request = URLRequest(
      url: URL(string: "http://127.0.0.1:\(server.httpPort)/v1/bulk/jobs/\(job)/results?result_set=\(set)")!
    )
    request.setValue("Bearer \(DemoServer.token)", forHTTPHeaderField: "Authorization")
    let (body, _) = try await URLSession.shared.data(for: request)
    return String(decoding: body, as: UTF8.self)
  }

  @Test("typed rows come out as the CSV the REST surface serves, paged or not", arguments: ["0", "1"])
  func sameAsREST(pageRecords: String) async throws {
    let server = try DemoServer()
    let job = try await Self.loadTypedRows(server)
    #expect(try await server.cli(["watch", job, "--quiet"]).status == 2)
    for set in ["successful", "failed"] {
      let results = try await server.cli(["results", job, "--set", set, "--page-records", pageRecords])
      #expect(results.status == 0, "\(results.standardError)")
      #expect(results.standardOutput == (try await Self.restResults(server, job: job, set: set)))
      #expect(results.standardOutput.split(separator: "\n").count == 2)
    }
  }
}
