internal import ArgumentParser
internal import BulkCore
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import SwiftProtobuf
internal import Synchronization

/// `spectra-bench load`: for a fixed time, clients of several quiet tenants create, upload,
/// close, download and delete jobs of mixed sizes on one `spectra-bulk serve` (embedded SQLite),
/// while a noisy tenant loads huge jobs; reports jobs per second, the latency of a quiet tenant's
/// small job, the server's peak RSS, and errors (the command fails if there is any).
struct Load: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Quiet tenants' jobs of mixed sizes beside a noisy tenant's huge jobs, for a fixed time, over loopback."
  )

  @Option(help: "Seconds new jobs are started for.")
  var seconds: Double = 30

  @Option(help: "Quiet tenants.")
  var tenants: Int = 3

  @Option(help: "Clients of each quiet tenant, each running one job after another.")
  var clients: Int = 2

  @Option(help: "Records of a small job.")
  var smallRows: Int = 1_000

  @Option(help: "Records of a large job (every fourth job of a quiet client).")
  var largeRows: Int = 20_000

  @Option(help: "Records of each of the noisy tenant's jobs.")
  var noisyRows: Int = 500_000

  @Option(help: "Flags passed on to `spectra-bulk serve` (repeat the option for each).")
  var serverFlag: [String] = []

  func validate() throws {
    guard self.seconds > 0 else { throw ValidationError("--seconds must be positive") }
    guard self.tenants > 0, self.clients > 0 else { throw ValidationError("--tenants and --clients must be positive") }
    guard self.smallRows > 0, self.largeRows > 0, self.noisyRows > 0 else {
      throw ValidationError("--small-rows, --large-rows and --noisy-rows must be positive")
    }
  }

  /// A CSV file to upload and its records.
  struct Upload: Sendable {
    var path: String
    var size: Int64
    var rows: Int
  }

  func run() async throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let uploads = try [self.smallRows, self.largeRows, self.noisyRows].map { rows in
      let file = try BenchTenants.csv(rows: rows, folder: scratch)
      return Upload(path: file.path, size: file.size, rows: rows)
    }
    let (small, large, noisy) = (uploads[0], uploads[1], uploads[2])
    let quiet = (0 ..< self.tenants).map { "quiet\($0)" }
    let data = scratch.appendingPathComponent("data")
    let tenantsFile = try BenchTenants.prepare(quiet + ["noisy"], folder: scratch, dataDirectory: data)
    let server = try BenchServer(
      arguments: ["--data-dir", data.path, "--tenants", tenantsFile.path] + self.serverFlag,
      log: scratch.appendingPathComponent("server.log")
    )
    defer { server.stop() }
    print(
      "load: \(self.tenants) quiet tenants x \(self.clients) clients (jobs of \(self.smallRows) records, every fourth of "
        + "\(self.largeRows)) and a noisy tenant (jobs of \(self.noisyRows) records) for \(self.seconds) s, embedded SQLite"
    )
    let port = server.grpcPort
    let stats = LoadStats()
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int64(self.seconds * 1000))
    await withTaskGroup(of: Void.self) { group in
      for tenant in quiet {
        for _ in 0 ..< self.clients {
          group.addTask {
            await Self.quietClient(
              port: port,
              tenant: tenant,
              small: small,
              large: large,
              until: deadline,
              stats: stats
            )
          }
        }
      }
      group.addTask { await Self.noisyClient(port: port, upload: noisy, until: deadline, stats: stats) }
    }
    let elapsed = (ContinuousClock.now - start).inSeconds
    let totals = stats.totals
    let latencies = totals.smallLatencies
    print(
      String(
        format: "quiet jobs completed     %6d  (%.1f jobs/s, %.0f records/s, over %.1f s)",
        totals.quietJobs,
        Double(totals.quietJobs) / elapsed,
        Double(totals.quietRecords) / elapsed,
        elapsed
      )
    )
    print(
      String(
        format: "small job, create to results downloaded: p50 %.3f s  p99 %.3f s  (%d jobs)",
        latencies.percentile(0.5),
        latencies.percentile(0.99),
        latencies.count
      )
    )
    print("noisy jobs completed     \(totals.noisyJobs)  (aborted at the end: \(totals.noisyAborted))")
    print("server peak RSS          \(server.peakRSS >> 20) MiB")
    print("errors                   \(totals.errors.count)")
    for error in totals.errors.prefix(10) {
      print("  \(error)")
    }
    if !totals.errors.isEmpty {
      print(server.logTail)
      throw ExitCode.failure
    }
  }

  /// Runs jobs one after another until `deadline`: three small, then a large one.
  private static func quietClient(
    port: Int,
    tenant: String,
    small: Upload,
    large: Upload,
    until deadline: ContinuousClock.Instant,
    stats: LoadStats
  ) async {
    do {
      try await BulkClient.connect(
        host: "127.0.0.1",
        port: port,
        token: BenchTenants.token(tenant),
        tenant: nil,
        gzip: false
      ) { client in
        var count = 0
        while ContinuousClock.now < deadline {
          let upload = count % 4 == 3 ? large : small
          count += 1
          let start = ContinuousClock.now
          do {
            let id = try await Self.load(client, upload)
            let job = try await client.closeAndFollow(id, retry: RetryPolicy(), progress: RetryNotes())
            try Self.check(job, upload)
            let records = try await client.download(
              id,
              set: .successful,
              format: .csv,
              pageRecords: 0,
              retry: RetryPolicy(),
              progress: RetryNotes()
            ) { _ in }
            guard records == upload.rows else {
              throw ValidationError("job \(id) has \(records) successful records, not \(upload.rows)")
            }
            try await client.delete(id)
            stats.quietJob(
              records: records,
              latency: upload.rows == small.rows ? (ContinuousClock.now - start).inSeconds : nil
            )
          } catch {
            stats.error("\(tenant): \(error)")
          }
        }
      }
    } catch {
      stats.error("\(tenant): \(error)")
    }
  }

  /// Runs huge jobs one after another until `deadline`; the job still running then is aborted.
  private static func noisyClient(
    port: Int,
    upload: Upload,
    until deadline: ContinuousClock.Instant,
    stats: LoadStats
  )
    async
  {
    do {
      try await BulkClient.connect(
        host: "127.0.0.1",
        port: port,
        token: BenchTenants.token("noisy"),
        tenant: nil,
        gzip: false
      ) { client in
        while ContinuousClock.now < deadline {
          let id = try await Self.load(client, upload)
          // Closed before the aborter starts, so that an abort at the deadline never meets a job
          // that is still Open (a close after it would be refused).
          _ = try await client.update(id, to: .uploadComplete)
          let aborter = Task {
            try await Task.sleep(until: deadline)
            _ = try? await client.update(id, to: .aborted)
          }
          let job = try await client.follow(id, retry: RetryPolicy(), progress: RetryNotes())
          aborter.cancel()
          if job.state == .aborted {
            stats.noisyAborted()
          } else {
            try Self.check(job, upload)
            stats.noisyJob()
          }
          try await client.delete(id)
        }
      }
    } catch {
      stats.error("noisy: \(error)")
    }
  }

  /// Creates an insert job and uploads `upload` into it; returns its id.
  private static func load(_ client: BulkClient, _ upload: Upload) async throws -> String {
    let job = try await client.create(
      .with {
        $0.operation = .insert
        $0.object = BenchTenants.table
      }
    )
    try await client.upload(upload.path, size: upload.size, into: job.jobID)
    return job.jobID
  }

  private static func check(_ job: Spectra_Bulk_V1_Job, _ upload: Upload) throws {
    guard job.state == .jobComplete, job.numberRecordsProcessed == upload.rows, job.numberRecordsFailed == 0 else {
      throw ValidationError(
        "job \(job.jobID) ended \(job.state) with \(job.numberRecordsProcessed) records processed, "
          + "\(job.numberRecordsFailed) failed: \(job.errorMessage)"
      )
    }
  }
}

/// What the load test's clients counted.
final class LoadStats: Sendable {
  struct Totals {
    var quietJobs = 0
    var quietRecords: Int64 = 0
    var smallLatencies: [Double] = []
    var noisyJobs = 0
    var noisyAborted = 0
    var errors: [String] = []
  }

  private let state = Mutex(Totals())

  var totals: Totals { self.state.withLock { $0 } }

  func quietJob(records: Int64, latency: Double?) {
    self.state.withLock {
      $0.quietJobs += 1
      $0.quietRecords += records
      if let latency { $0.smallLatencies.append(latency) }
    }
  }

  func noisyJob() { self.state.withLock { $0.noisyJobs += 1 } }

  func noisyAborted() { self.state.withLock { $0.noisyAborted += 1 } }

  func error(_ message: String) { self.state.withLock { $0.errors.append(message) } }
}
