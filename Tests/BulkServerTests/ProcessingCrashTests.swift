import BulkProto
import BulkSQLite
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing

/// Exactly once across a crash, against the real binary: `kill -9` while a job is `InProgress`,
/// restart, and every record is applied once, in exactly one result set.
@Suite("Processing across a crash")
struct ProcessingCrashTests {
  typealias Client = ServerEndToEndTests.Client

  enum WarehouseKind: String, CaseIterable, Sendable {
    case sqlite, postgres
  }

  @Test(
    "SIGKILL after some chunks committed, restart: the job completes and no record is applied twice",
    arguments: WarehouseKind.allCases
  )
  func killWhileInProgress(warehouse: WarehouseKind) async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      var arguments = [
        "--grpc-port", "0", "--http-port", "0", "--data-dir", directory, "--demo", "--workers", "1",
        "--chunk-records", "500",
      ]
      var count: @Sendable () throws -> (Int64, Int64) = {
        let count = try SQLiteConnection(path: "\(directory)/warehouse/tenant-123.sqlite")
          .prepare("SELECT count(*), count(DISTINCT id) FROM customers WHERE id >= 1000 AND id < 9999999")
        _ = try count.step()
        return (count.int64(0), count.int64(1))
      }
      if warehouse == .postgres {
        let cluster = try await PostgresCluster.shared()
        let database = "crash_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try cluster.createDatabase(String(database))
        _ = try cluster.psql(
          """
          CREATE SCHEMA tenant_123;
          CREATE TABLE tenant_123.customers (id bigint PRIMARY KEY, name text NOT NULL, email text);
          INSERT INTO tenant_123.customers VALUES (1, 'Ada Lovelace', 'ada@example.com');
          """,
          database: String(database)
        )
        arguments += ["--warehouse", cluster.url(database: String(database))]
        count = {
          let row = try cluster.psql(
            "SELECT count(*), count(DISTINCT id) FROM tenant_123.customers WHERE id >= 1000 AND id < 9999999",
            database: String(database)
          )
          let fields = row.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").compactMap {
            Int64($0)
          }
          return (fields.first ?? -1, fields.last ?? -1)
        }
      }
      let environment = ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token]
      let rows = 100_000
      var csv = "id,name,email\n"
      for id in 1000 ..< (1000 + rows) {
        csv += "\(id),Customer \(id),c\(id)@example.com\n"
      }
      // Two records that fail, so every result set has something to count.
      csv += "1,Dup,dup@example.com\n9999999,,none@example.com\n"
      let input = Data(csv.utf8)

      let first = try ServerProcess(arguments: arguments, environment: environment)
      let port = try first.awaitGRPCPort()
      let (jobID, atKill) = try await ServerEndToEndTests.withClient(port: port) { client in
        let job = try await client.createJob(
          ServerEndToEndTests.create("customers"),
          metadata: ServerEndToEndTests.auth
        )
        _ = try await UploadCrashTests.upload(client, jobID: job.jobID, bytes: input, from: 0, pieceSize: 1 << 20)
        let seen = try await ServerEndToEndTests.closeAndWatch(job.jobID, client: client) {
          $0.numberChunksCompleted >= 2 || ($0.state != .inProgress && $0.state != .uploadComplete)
        }
        return (job.jobID, seen)
      }
      first.stop(with: SIGKILL)
      #expect(atKill.state == .inProgress, "the job finished before the kill: \(atKill.numberChunksCompleted) chunks")

      let second = try ServerProcess(arguments: arguments, environment: environment)
      try await ServerEndToEndTests.withClient(port: try second.awaitGRPCPort()) { client in
        // The job was closed before the kill: closing it again, as a client that lost the
        // connection would, leaves it to finish.
        let done = try await ServerEndToEndTests.closeAndWatch(jobID, client: client)
        #expect(done.state == .jobComplete, "\(done.errorMessage)")
        #expect(done.numberRecordsProcessed == Int64(rows + 2))
        #expect(done.numberRecordsFailed == 2)
        var counts: [Int64] = []
        for set: Spectra_Bulk_V1_ResultSet in [.successful, .failed, .unprocessed] {
          var request = Spectra_Bulk_V1_GetJobResultsRequest()
          request.jobID = jobID
          request.resultSet = set
          counts.append(
            try await client.getJobResults(request, metadata: ServerEndToEndTests.auth) { response in
              var total: Int64 = 0
              for try await chunk in response.messages { total += chunk.recordCount }
              return total
            }
          )
        }
        #expect(counts == [Int64(rows), 2, 0])
      }
      #expect(second.stop() == 0)
      let (total, distinct) = try count()
      #expect(total == Int64(rows))
      #expect(distinct == Int64(rows))
    }
  }
}
