internal import ArgumentParser
internal import BulkCore
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import SwiftProtobuf

/// `spectra-bench fleet`: many insert jobs closed at once on one `spectra-bulk serve` (embedded
/// SQLite), against the same jobs run one after another on a fresh server: the total time of
/// each, and each server's peak RSS, which the server-wide chunk budget keeps flat.
struct Fleet: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Many insert jobs closed at once against the same jobs one after another: time and peak RSS."
  )

  @Option(help: "Insert jobs.")
  var jobs: Int = 200

  @Option(help: "Records per job.")
  var rows: Int = 20_000

  @Option(help: "Jobs uploaded at once before they are all closed.")
  var uploaders: Int = 4

  @Option(help: "Flags passed on to `spectra-bulk serve` (repeat the option for each).")
  var serverFlag: [String] = []

  func validate() throws {
    guard self.jobs > 0, self.rows > 0, self.uploaders > 0 else {
      throw ValidationError("--jobs, --rows and --uploaders must be positive")
    }
  }

  func run() async throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let csv = try BenchTenants.csv(rows: self.rows, folder: scratch)
    print("\(self.jobs) insert jobs of \(self.rows) records (\(csv.size) bytes of CSV each), embedded SQLite")
    let sequential = try await self.measure(scratch.appendingPathComponent("sequential"), csv: csv, atOnce: false)
    print(sequential.row("one after another (baseline)", baseline: sequential.seconds))
    let fleet = try await self.measure(scratch.appendingPathComponent("fleet"), csv: csv, atOnce: true)
    print(fleet.row("all uploaded, then closed at once", baseline: sequential.seconds))
  }

  struct Measurement {
    var seconds: Double
    /// From the first close to the last job complete.
    var processingSeconds: Double
    var records: Int64
    var peakRSS: Int

    func row(_ name: String, baseline: Double) -> String {
      String(
        format: "%@ %7.1f s (%5.1f s processing)  %9.0f records/s  %5.2fx the baseline's time  peak RSS %d MiB",
        name.padding(toLength: 36, withPad: " ", startingAt: 0) as NSString,
        self.seconds,
        self.processingSeconds,
        Double(self.records) / self.seconds,
        self.seconds / baseline,
        self.peakRSS >> 20
      )
    }
  }

  /// Runs every job on a fresh server: each created, uploaded, closed and followed in turn, or
  /// all created and uploaded (`uploaders` at a time), then all closed at once and followed.
  private func measure(_ folder: URL, csv: (path: String, size: Int64), atOnce: Bool) async throws -> Measurement {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let data = folder.appendingPathComponent("data")
    let tenants = try BenchTenants.prepare(["fleet"], folder: folder, dataDirectory: data)
    let server = try BenchServer(
      arguments: ["--data-dir", data.path, "--tenants", tenants.path] + self.serverFlag,
      log: folder.appendingPathComponent("server.log")
    )
    defer { server.stop() }
    let (jobs, uploaders) = (self.jobs, self.uploaders)
    let start = ContinuousClock.now
    let (finished, processing) = try await server.withClient(token: BenchTenants.token("fleet")) { client in
      if !atOnce {
        var finished: [Spectra_Bulk_V1_Job] = []
        for _ in 0 ..< jobs {
          let id = try await Self.createAndUpload(client, csv: csv)
          finished.append(try await client.closeAndFollow(id, retry: RetryPolicy(), progress: RetryNotes()))
        }
        return (finished, (ContinuousClock.now - start).inSeconds)
      }
      var ids: [String] = []
      try await withThrowingTaskGroup(of: String.self) { group in
        for index in 0 ..< jobs {
          if index >= uploaders, let id = try await group.next() { ids.append(id) }
          group.addTask { try await Self.createAndUpload(client, csv: csv) }
        }
        for try await id in group { ids.append(id) }
      }
      let closing = ContinuousClock.now
      for id in ids {
        _ = try await client.update(id, to: .uploadComplete)
      }
      let finished = try await withThrowingTaskGroup(of: Spectra_Bulk_V1_Job.self) { group in
        for id in ids {
          group.addTask { try await client.follow(id, retry: RetryPolicy(), progress: RetryNotes()) }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
      return (finished, (ContinuousClock.now - closing).inSeconds)
    }
    let seconds = (ContinuousClock.now - start).inSeconds
    for job in finished
    where job.state != .jobComplete || job.numberRecordsProcessed != self.rows || job.numberRecordsFailed != 0 {
      throw ValidationError(
        "job \(job.jobID) ended \(job.state) with \(job.numberRecordsProcessed) records processed, "
          + "\(job.numberRecordsFailed) failed: \(job.errorMessage)\n\(server.logTail)"
      )
    }
    return Measurement(
      seconds: seconds,
      processingSeconds: processing,
      records: Int64(self.jobs) * Int64(self.rows),
      peakRSS: server.peakRSS
    )
  }

  private static func createAndUpload(_ client: BulkClient, csv: (path: String, size: Int64)) async throws -> String {
    let job = try await client.create(
      .with {
        $0.operation = .insert
        $0.object = BenchTenants.table
      }
    )
    try await client.upload(csv.path, size: csv.size, into: job.jobID)
    return job.jobID
  }
}
