import BulkCore
import BulkEngine
import BulkProto
import BulkSQLite
import BulkServer
import BulkTestSupport
import Foundation
import GRPCCore
import Testing

/// `--job-lifetime` and `--retention`: how their values are spelled and what they set.
@Suite("Server lifetimes")
struct ServerLifetimesTests {
  @Test(
    "seconds, or a whole number with s, m, h or d",
    arguments: [
      ("90", Duration.seconds(90)), ("90s", .seconds(90)), ("15m", .seconds(900)), ("24h", .seconds(86400)),
      ("7d", .seconds(604_800)),
    ]
  )
  func spelled(text: String, duration: Duration) throws {
    #expect(try ServerConfiguration.duration(text, setting: "--retention") == duration)
  }

  @Test("anything else is refused with the setting's name", arguments: ["", "0", "-5", "1.5h", "24 h", "h", "7w", "٣s"])
  func refused(text: String) {
    #expect(throws: BulkError.self) { try ServerConfiguration.duration(text, setting: "--job-lifetime") }
    do {
      _ = try ServerConfiguration.duration(text, setting: "--job-lifetime")
    } catch {
      #expect(error.message.hasPrefix("--job-lifetime '\(text)' is not a duration"))
    }
  }

  @Test("a duration past 100 years is refused")
  func tooLong() {
    #expect(throws: BulkError.self) { try ServerConfiguration.duration("36600d", setting: "--retention") }
    #expect(throws: BulkError.self) { try ServerConfiguration.duration("9223372036854775807d", setting: "--retention") }
  }

  @Test("the lifetimes go to the engine, which checks them often enough for short values")
  func engine() {
    var configuration = ServerConfiguration()
    #expect(configuration.engine.maxJobAge == .seconds(86400))
    #expect(configuration.engine.retention == .seconds(604_800))
    configuration.setLifetimes(jobLifetime: .seconds(2), retention: .seconds(30))
    #expect(configuration.engine.maxJobAge == .seconds(2))
    #expect(configuration.engine.retention == .seconds(30))
    #expect(configuration.engine.reapInterval == .milliseconds(200))
    configuration.setLifetimes(jobLifetime: .seconds(86400), retention: .seconds(604_800))
    #expect(configuration.engine.reapInterval == .seconds(60))
  }
}

/// The two lifetimes through the real binary, with short values.
@Suite("spectra-bulk serve, --job-lifetime and --retention")
struct LifetimeServerTests {
  static func get(_ jobID: String, client: ServerEndToEndTests.Client) async throws -> Spectra_Bulk_V1_Job {
    var get = Spectra_Bulk_V1_GetJobRequest()
    get.jobID = jobID
    return try await client.getJob(get, metadata: ServerEndToEndTests.auth)
  }

  @Test("--job-lifetime: a job not terminal within it fails, saying so")
  func lifetime() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let server = try ServerProcess(
        arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory, "--demo", "--job-lifetime", "1s"],
        environment: ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token]
      )
      try await ServerEndToEndTests.withClient(port: try server.awaitGRPCPort()) { client in
        let job = try await client.createJob(ServerEndToEndTests.create("customers"), metadata: ServerEndToEndTests.auth)
        var watch = Spectra_Bulk_V1_WatchJobRequest()
        watch.jobID = job.jobID
        // The job is left Open; the watch ends at its terminal state.
        let last = try await client.watchJob(watch, metadata: ServerEndToEndTests.auth) { response in
          var last = Spectra_Bulk_V1_Job()
          for try await update in response.messages {
            last = update
          }
          return last
        }
        #expect(last.state == .failed)
        #expect(last.errorMessage == "the job was not finished within its lifetime, 1s after its creation (--job-lifetime)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/staging/\(job.jobID)"))
      }
      #expect(server.stop(with: SIGTERM) == 0)
    }
  }

  @Test("SPECTRA_RETENTION: a terminal job is purged after it, with its data and its warehouse ledger")
  func retention() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let server = try ServerProcess(
        arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory, "--demo"],
        environment: ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token, "SPECTRA_RETENTION": "6"]
      )
      let ledgerRows: @Sendable (String) throws -> Int64 = { jobID in
        let statement = try SQLiteConnection(path: "\(directory)/warehouse/tenant-123.sqlite")
          .prepare("SELECT count(*) FROM _spectra_ledger WHERE job_id = ?1")
          .bind([.text(jobID)])
        _ = try statement.step()
        return statement.int64(0)
      }
      try await ServerEndToEndTests.withClient(port: try server.awaitGRPCPort()) { client in
        let job = try await client.createJob(ServerEndToEndTests.create("customers"), metadata: ServerEndToEndTests.auth)
        _ = try await client.uploadJobData(metadata: ServerEndToEndTests.auth) { writer in
          var message = Spectra_Bulk_V1_UploadJobDataRequest()
          message.jobID = job.jobID
          message.data = Data("id,name\n900001,Ada\n900002,Grace\n".utf8)
          try await writer.write(message)
        }
        let done = try await ServerEndToEndTests.closeAndWatch(job.jobID, client: client)
        #expect(done.state == .jobComplete)
        #expect(try ledgerRows(job.jobID) == 1)
        #expect(FileManager.default.fileExists(atPath: "\(directory)/results/\(job.jobID)"))

        // Nothing announces the purge: ask until the job is gone, within a bound.
        let deadline = ContinuousClock.now + .seconds(60)
        var gone = false
        while !gone && ContinuousClock.now < deadline {
          do {
            _ = try await Self.get(job.jobID, client: client)
            try await Task.sleep(for: .milliseconds(100))
          } catch let error as RPCError where error.code == .notFound {
            gone = true
          }
        }
        #expect(gone, "the job outlived its retention")
        #expect(try ledgerRows(job.jobID) == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/results/\(job.jobID)"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/staging/\(job.jobID)"))
      }
      #expect(server.stop(with: SIGTERM) == 0)
    }
  }

  @Test("a value that is not a duration is refused before the server starts")
  func refused() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let server = try ServerProcess(
        arguments: ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory, "--retention", "7 days"]
      )
      #expect(server.waitForExit() != 0)
    }
  }
}
