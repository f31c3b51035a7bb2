import BulkProto
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Synchronization
import Testing

/// The durability promise of uploads, against the real binary: what a response acknowledged
/// survives `kill -9` and a graceful stop, and a client resumes from `bytes_uploaded` to a
/// byte-identical spool.
@Suite("Upload across a crash")
struct UploadCrashTests {
  typealias Client = ServerEndToEndTests.Client

  static func upload(
    _ client: Client,
    jobID: String,
    bytes: Data,
    from start: Int,
    pieceSize: Int,
    afterEachPiece: @escaping @Sendable (Int) async throws -> Void = { _ in }
  ) async throws -> Spectra_Bulk_V1_UploadJobDataResponse {
    try await client.uploadJobData(metadata: ServerEndToEndTests.auth) { writer in
      var offset = start
      while offset < bytes.count {
        let end = min(offset + pieceSize, bytes.count)
        var message = Spectra_Bulk_V1_UploadJobDataRequest()
        message.jobID = jobID
        message.offset = Int64(offset)
        message.data = bytes.subdata(in: offset ..< end)
        try await writer.write(message)
        offset = end
        try await afterEachPiece(offset)
      }
    }
  }

  static func csv(rows: Int) -> Data {
    var text = "id,name,email\n"
    for index in 1 ... rows {
      text += "\(index),\"Name, \(index)\",user\(index)@example.com\n"
    }
    return Data(text.utf8)
  }

  @Test(
    "SIGKILL or SIGTERM in the middle of an upload, restart, resume from bytes_uploaded",
    arguments: [SIGKILL, SIGTERM]
  )
  func stopAndResume(signal: Int32) async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let arguments = ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory]
      let environment = ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token]
      let input = Self.csv(rows: 60_000)
      let half = input.count / 2

      let first = try ServerProcess(arguments: arguments, environment: environment)
      let port = try first.awaitGRPCPort()
      let (job, acknowledged) = try await ServerEndToEndTests.withClient(port: port) { client in
        let job = try await client.createJob(
          ServerEndToEndTests.create("customers"),
          metadata: ServerEndToEndTests.auth
        )
        // A first call that completes: its response acknowledges `half` bytes.
        let response = try await Self.upload(
          client,
          jobID: job.jobID,
          bytes: input.prefix(half),
          from: 0,
          pieceSize: 64 << 10
        )
        #expect(response.bytesUploaded == Int64(half))
        return (job, response.bytesUploaded)
      }
      // A second call, in the middle of which the server is stopped: after SIGKILL it never
      // answers; after SIGTERM it may finish the call or end it, and it exits cleanly.
      let stopper = KillSwitch(pid: first.pid, signal: signal)
      do {
        try await ServerEndToEndTests.withClient(port: port) { client in
          _ = try await Self.upload(client, jobID: job.jobID, bytes: input, from: half, pieceSize: 32 << 10) { offset in
            if offset >= half + (input.count - half) / 2 {
              stopper.fire()
            }
          }
        }
        #expect(signal == SIGTERM, "the upload call survived SIGKILL")
      } catch {
        // The call ended with the server.
      }
      #expect(stopper.fired)
      let status = first.waitForExit()
      if signal == SIGTERM {
        #expect(status == 0)
      }

      let second = try ServerProcess(arguments: arguments, environment: environment)
      try await ServerEndToEndTests.withClient(port: try second.awaitGRPCPort()) { client in
        var get = Spectra_Bulk_V1_GetJobRequest()
        get.jobID = job.jobID
        let resumeFrom = try await client.getJob(get, metadata: ServerEndToEndTests.auth).bytesUploaded
        #expect(resumeFrom >= acknowledged)
        if resumeFrom < input.count {
          let response = try await Self.upload(
            client,
            jobID: job.jobID,
            bytes: input,
            from: Int(resumeFrom),
            pieceSize: 64 << 10
          )
          #expect(response.bytesUploaded == Int64(input.count))
          #expect(response.recordsReceived > 0)
        }

        var close = Spectra_Bulk_V1_UpdateJobStateRequest()
        close.jobID = job.jobID
        close.state = .uploadComplete
        let closed = try await client.updateJobState(close, metadata: ServerEndToEndTests.auth)
        #expect(closed.bytesUploaded == Int64(input.count))
      }
      #expect(second.stop() == 0)
      let spool = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/staging/\(job.jobID)/upload"))
      #expect(spool == input)
    }
  }
}

/// Sends a process a signal (SIGKILL unless told) once, from any task.
final class KillSwitch: Sendable {
  private let pid: Int32
  private let signal: Int32
  private let state = Mutex(false)

  init(pid: Int32, signal: Int32 = SIGKILL) {
    self.pid = pid
    self.signal = signal
  }

  var fired: Bool { self.state.withLock { $0 } }

  func fire() {
    let first = self.state.withLock { fired in
      defer { fired = true }
      return !fired
    }
    if first {
      kill(self.pid, self.signal)
    }
  }
}
