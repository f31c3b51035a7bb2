import BulkProto
import BulkSQLite
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM against the real binary with calls open: the process exits well within
/// `--shutdown-grace`, the watch ends `UNAVAILABLE` saying the server is stopping, the upload in
/// flight keeps what was stored, and the running job finishes after the restart, never `Failed`.
@Suite("Graceful shutdown")
struct ShutdownTests {
  typealias Client = ServerEndToEndTests.Client

  /// What the calls open at SIGTERM tell the test.
  enum Milestone: Sendable {
    case watching
    case uploading
  }

  static func csv(ids: Range<Int>) -> Data {
    var text = "id,name,email\n"
    for id in ids {
      text += "\(id),Customer \(id),c\(id)@example.com\n"
    }
    return Data(text.utf8)
  }

  @Test("SIGTERM with a watch, a slow upload and a running job open: a prompt exit and nothing lost")
  func sigtermWithCallsOpen() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let grace = 10
      let arguments = [
        "--grpc-port", "0", "--http-port", "0", "--data-dir", directory, "--demo", "--workers", "1",
        "--chunk-records", "300", "--shutdown-grace", "\(grace)",
      ]
      let environment = ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token]
      let running = Self.csv(ids: 1000 ..< 61_000)
      let uploaded = Self.csv(ids: 100_000 ..< 160_000)

      let first = try ServerProcess(arguments: arguments, environment: environment)
      let outcome = try await ServerEndToEndTests.withClient(port: try first.awaitGRPCPort()) { client in
        let watched = try await client.createJob(
          ServerEndToEndTests.create("customers"),
          metadata: ServerEndToEndTests.auth
        )
        let slow = try await client.createJob(
          ServerEndToEndTests.create("customers"),
          metadata: ServerEndToEndTests.auth
        )
        let busy = try await client.createJob(
          ServerEndToEndTests.create("customers"),
          metadata: ServerEndToEndTests.auth
        )
        _ = try await UploadCrashTests.upload(client, jobID: busy.jobID, bytes: running, from: 0, pieceSize: 1 << 20)
        let atTerm = try await ServerEndToEndTests.closeAndWatch(busy.jobID, client: client) {
          $0.numberChunksCompleted >= 1 || ($0.state != .inProgress && $0.state != .uploadComplete)
        }

        let (milestones, reached) = AsyncStream.makeStream(of: Milestone.self)
        return try await withThrowingTaskGroup(of: (Milestone, RPCError?).self) { group in
          group.addTask {
            var request = Spectra_Bulk_V1_WatchJobRequest()
            request.jobID = watched.jobID
            do {
              try await client.watchJob(request, metadata: ServerEndToEndTests.auth) { response in
                for try await _ in response.messages {
                  reached.yield(.watching)
                }
              }
              return (.watching, nil)
            } catch let error as RPCError {
              return (.watching, error)
            }
          }
          group.addTask {
            do {
              // A slow client: 64 KiB every 20 ms.
              _ = try await UploadCrashTests.upload(
                client,
                jobID: slow.jobID,
                bytes: uploaded,
                from: 0,
                pieceSize: 64 << 10
              ) {
                sent in
                if sent >= 2 << 20 { reached.yield(.uploading) }
                try await Task.sleep(for: .milliseconds(20))
              }
              return (.uploading, nil)
            } catch let error as RPCError {
              return (.uploading, error)
            }
          }
          var pending: Set<String> = ["watching", "uploading"]
          for await milestone in milestones {
            pending.remove("\(milestone)")
            if pending.isEmpty { break }
          }
          let signalled = ContinuousClock.now
          kill(first.pid, SIGTERM)
          var errors: [String: RPCError?] = [:]
          for try await (call, error) in group {
            errors["\(call)"] = error
          }
          let status = first.waitForExit()
          let elapsed = ContinuousClock.now - signalled
          print(
            "shutdown with a watch, a slow upload and a running job open: exited \(status) in \(elapsed) (grace \(grace) s)"
          )
          return (atTerm, errors, status, elapsed, slow.jobID, busy.jobID)
        }
      }
      let (atTerm, errors, status, elapsed, slowID, busyID) = outcome
      #expect(status == 0)
      #expect(elapsed < .seconds(grace / 2), "the exit took \(elapsed)")
      #expect(atTerm.state == .inProgress, "the job finished before SIGTERM: \(atTerm.numberChunksCompleted) chunks")
      let watchError = try #require(errors["watching"] ?? nil, "the watch ended without an error")
      #expect(watchError.code == .unavailable)
      #expect(watchError.message.contains("server is stopping"), "\(watchError.message)")
      let uploadError = try #require(errors["uploading"] ?? nil, "the upload ended without an error")
      #expect(uploadError.code == .unavailable, "\(uploadError)")

      let second = try ServerProcess(arguments: arguments, environment: environment)
      try await ServerEndToEndTests.withClient(port: try second.awaitGRPCPort()) { client in
        // The running job resumes by itself and completes.
        var watch = Spectra_Bulk_V1_WatchJobRequest()
        watch.jobID = busyID
        let done = try await client.watchJob(watch, metadata: ServerEndToEndTests.auth) { response in
          var last = Spectra_Bulk_V1_Job()
          for try await update in response.messages { last = update }
          return last
        }
        #expect(done.state == .jobComplete, "\(done.errorMessage)")
        #expect(done.numberRecordsProcessed == 60_000)
        #expect(done.numberRecordsFailed == 0)
        // The shutdown wrote no result for the chunks it kept from starting.
        var counts: [Int64] = []
        for set: Spectra_Bulk_V1_ResultSet in [.successful, .failed, .unprocessed] {
          var request = Spectra_Bulk_V1_GetJobResultsRequest()
          request.jobID = busyID
          request.resultSet = set
          counts.append(
            try await client.getJobResults(request, metadata: ServerEndToEndTests.auth) { response in
              var total: Int64 = 0
              for try await chunk in response.messages { total += chunk.recordCount }
              return total
            }
          )
        }
        #expect(counts == [60_000, 0, 0])

        // What the upload stored before the shutdown is there; resumed from it, the job loads
        // every record once.
        var get = Spectra_Bulk_V1_GetJobRequest()
        get.jobID = slowID
        let stored = try await client.getJob(get, metadata: ServerEndToEndTests.auth).bytesUploaded
        #expect(stored >= 2 << 20 - (64 << 10) * 8, "only \(stored) bytes were kept")
        _ = try await UploadCrashTests.upload(
          client,
          jobID: slowID,
          bytes: uploaded,
          from: Int(stored),
          pieceSize: 1 << 20
        )
        let loaded = try await ServerEndToEndTests.closeAndWatch(slowID, client: client)
        #expect(loaded.state == .jobComplete, "\(loaded.errorMessage)")
        #expect(loaded.numberRecordsProcessed == 60_000)
        #expect(loaded.numberRecordsFailed == 0)
      }
      #expect(second.stop() == 0)
      let count = try SQLiteConnection(path: "\(directory)/warehouse/tenant-123.sqlite")
        .prepare("SELECT count(*), count(DISTINCT id) FROM customers WHERE id >= 1000")
      _ = try count.step()
      #expect(count.int64(0) == 120_000)
      #expect(count.int64(1) == 120_000)
    }
  }

  @Test("health answers SERVING for the server and BulkService without a token, NOT_FOUND for others")
  func healthCheck() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let server = try ServerProcess(
        arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory],
        environment: ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token]
      )
      let port = try server.awaitGRPCPort()
      let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port),
        transportSecurity: .plaintext
      )
      try await withGRPCClient(transport: transport) { client in
        let health = Grpc_Health_V1_Health.Client(wrapping: client)
        for service in ["", "spectra.bulk.v1.BulkService"] {
          var request = Grpc_Health_V1_HealthCheckRequest()
          request.service = service
          let answer = try await health.check(request)
          #expect(answer.status == .serving, "\(service)")
        }
        var unknown = Grpc_Health_V1_HealthCheckRequest()
        unknown.service = "spectra.bulk.v1.NoSuchService"
        await #expect(throws: RPCError.self) {
          do {
            _ = try await health.check(unknown)
          } catch let error as RPCError {
            #expect(error.code == .notFound)
            throw error
          }
        }
      }
      #expect(server.stop() == 0)
    }
  }
}
