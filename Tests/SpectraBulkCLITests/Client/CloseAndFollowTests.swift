internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import SwiftProtobuf
internal import Synchronization
internal import Testing

/// `BulkClient.closeAndFollow` against the real server: the watch opens beside the close.
@Suite("closing and following a job", .timeLimit(.minutes(2)))
struct CloseAndFollowTests {
  /// Records the states the watch showed.
  final class States: ClientProgress {
    let seen = Mutex<[Spectra_Bulk_V1_JobState]>([])

    func uploading(_ name: String, sent: Int64, total: Int64) {}
    func uploadEnded() {}
    func processing(_ job: Spectra_Bulk_V1_Job) { self.seen.withLock { $0.append(job.state) } }
    func watchEnded() {}
    func note(_ message: String) {}
  }

  /// Creates an insert job on `customers`, uploads `csv` into it, aborts it if `abort`, and
  /// closes and follows it.
  static func closeAndFollow(_ csv: String, abort: Bool = false, on server: DemoServer, progress: States) async throws
    -> Spectra_Bulk_V1_Job
  {
    let file = try server.file("rows-\(UUID().uuidString).csv", csv)
    return try await BulkClient.connect(host: "127.0.0.1", port: server.grpcPort, token: DemoServer.token, tenant: nil) {
      client in
      let job = try await client.create(
        .with {
          $0.operation = .insert
          $0.object = "customers"
        }
      )
      var upload = ResumableUpload(
        client: client,
        jobID: job.jobID,
        file: file,
        size: Int64(csv.utf8.count),
        compressed: false,
        retry: RetryPolicy(),
        progress: progress
      )
      _ = try await upload.run()
      if abort { _ = try await client.update(job.jobID, to: .aborted) }
      return try await client.closeAndFollow(job.jobID, retry: RetryPolicy(), progress: progress)
    }
  }

  static let csv = "id,name,email\n1,Ada,ada@example.com\n2,Bo,bo@example.com\n"

  @Test("an uploaded job is followed to JobComplete, and no state from before the close is shown")
  func followed() async throws {
    let server = try DemoServer()
    let states = States()
    let done = try await Self.closeAndFollow(Self.csv, on: server, progress: states)
    #expect(done.state == .jobComplete)
    #expect(done.numberRecordsProcessed == 2)
    let seen = states.seen.withLock { $0 }
    #expect(seen.last == .jobComplete)
    #expect(!seen.contains(.open))
  }

  @Test("a close the server refuses is thrown, even though the watch beside it saw the job end")
  func refusedClose() async throws {
    let server = try DemoServer()
    let error = await #expect(throws: RPCError.self) {
      try await Self.closeAndFollow(Self.csv, abort: true, on: server, progress: States())
    }
    #expect(error?.code == .failedPrecondition, "\(String(describing: error))")
  }
}
