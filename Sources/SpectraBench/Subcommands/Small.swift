internal import ArgumentParser
internal import BulkCore
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import SwiftProtobuf

/// `spectra-bench small`: the latency of a small job end to end on one warm connection (create,
/// upload, close and watch until it is terminal, as `BulkClient.closeAndFollow` does, the watch
/// opened beside the close; download the failed records), job after job,
/// against a real `spectra-bulk serve --demo` on the embedded SQLite; beside it, the baseline:
/// a `GetJob` round trip on the same connection. With `--against`, the same jobs also run,
/// alternating job by job, against another build of the server, and the two are compared.
struct Small: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Small jobs end to end on one warm connection: latency per job and per phase."
  )

  @Option(help: "Jobs to time, one after another.")
  var jobs = 200

  @Option(help: "Records per job (one of them fails, so that the failed set has a record).")
  var rows = 100

  @Option(help: "Jobs run first and not timed.")
  var warmUp = 20

  @Option(help: "Extra flags for the server, e.g. --server-flag=--workers=1.")
  var serverFlag: [String] = []

  @Option(
    help: ArgumentHelp(
      "Another spectra-bulk binary (a build of an earlier commit, say) to run beside this build's: each job goes to both in turn, so both see the same machine.",
      valueName: "path"
    )
  )
  var against: String?

  /// One job's seconds per phase.
  struct Phases {
    var create = 0.0
    var upload = 0.0
    /// Closing the job and watching it to its end, the two calls overlapping.
    var closeAndWatch = 0.0
    var results = 0.0

    var total: Double { self.create + self.upload + self.closeAndWatch + self.results }
  }

  func validate() throws {
    guard self.jobs > 0, self.rows > 1, self.warmUp >= 0 else {
      throw ValidationError("--jobs must be positive, --rows at least 2 and --warm-up not negative")
    }
  }

  func run() async throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let files = try (0 ..< self.warmUp + self.jobs).map { try self.upload($0, in: scratch) }

    // Absolute: the server starts in `/`.
    let programs: [String?] = [nil] + (self.against.map { [URL(fileURLWithPath: $0).standardizedFileURL.path] } ?? [])
    let servers = try programs.enumerated().map { index, program in
      try BenchServer(
        arguments: ["--demo", "--data-dir", scratch.appendingPathComponent("data-\(index)").path] + self.serverFlag,
        environment: ["SPECTRA_DEV_TOKEN": "bench"],
        log: scratch.appendingPathComponent("server-\(index).log"),
        program: program
      )
    }
    defer { servers.forEach { $0.stop() } }
    let measured = try await servers[0].withClient(token: "bench") { client in
      guard servers.count > 1 else { return try await self.measure([client], files: files) }
      return try await servers[1].withClient(token: "bench") { other in
        try await self.measure([client, other], files: files)
      }
    }

    print("\(self.jobs) jobs of \(self.rows) records after \(self.warmUp) untimed, one after another on one connection")
    print("server: spectra-bulk serve --demo \(self.serverFlag.joined(separator: " ")) (embedded SQLite)")
    for (index, side) in measured.enumerated() {
      if servers.count > 1 {
        print(index == 0 ? "this build (beside spectra-bench):" : "against \(self.against ?? ""):")
      }
      Self.report(side, peakRSS: servers[index].peakRSS)
    }
    if measured.count > 1 {
      let medians = measured.map { $0.phases.map(\.total).percentile(0.5) }
      print(String(format: "this build / against, job p50: %.2fx", medians[0] / medians[1]))
    }
  }

  /// One server's figures: each job's phases, and after each job a `GetJob` of it and a health
  /// check, on the same connection.
  struct Side {
    var phases: [Phases] = []
    var getJob: [Double] = []
    var health: [Double] = []
  }

  /// Runs every job on each client in turn (in the opposite order every other job, so that
  /// neither side always goes first).
  private func measure(_ clients: [BulkClient], files: [(path: String, size: Int64)]) async throws -> [Side] {
    var measured = Array(repeating: Side(), count: clients.count)
    for (index, file) in files.enumerated() {
      let order = index.isMultiple(of: 2) ? Array(clients.indices) : clients.indices.reversed()
      for side in order {
        let (job, timed) = try await Self.small(clients[side], file: file, rows: self.rows)
        var started = ContinuousClock.now
        _ = try await clients[side].job(job)
        let getJob = (ContinuousClock.now - started).inSeconds
        started = ContinuousClock.now
        guard try await clients[side].serving() else { throw ValidationError("the server stopped serving") }
        let health = (ContinuousClock.now - started).inSeconds
        if index >= self.warmUp {
          measured[side].phases.append(timed)
          measured[side].getJob.append(getJob)
          measured[side].health.append(health)
        }
      }
    }
    return measured
  }

  private static func report(_ side: Side, peakRSS: Int) {
    let getJob = side.getJob.percentile(0.5)
    let health = side.health.percentile(0.5)
    print(
      String(
        format: "baseline: GetJob round trip p50 %.2f ms; grpc.health.v1 Check p50 %.2f ms (no credentials, no catalog)",
        getJob * 1000,
        health * 1000
      )
    )
    let totals = side.phases.map(\.total)
    print(
      String(
        format: "job end to end: p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  (%.1fx the GetJob round trip; its five calls at a health check's cost: %.2f ms)",
        totals.percentile(0.5) * 1000,
        totals.percentile(0.9) * 1000,
        totals.percentile(0.99) * 1000,
        totals.percentile(0.5) / getJob,
        5 * health * 1000
      )
    )
    let phases = side.phases
    for (name, values) in [
      ("create", phases.map(\.create)), ("upload", phases.map(\.upload)),
      ("close + watch", phases.map(\.closeAndWatch)), ("failed results", phases.map(\.results)),
    ] {
      print(String(format: "  %-18@ p50 %.2f ms  p90 %.2f ms", name as NSString, values.percentile(0.5) * 1000, values.percentile(0.9) * 1000))
    }
    print("server peak RSS \(peakRSS >> 20) MiB")
  }

  /// Writes job `index`'s CSV: `rows` customers with ids of their own, the last without a name.
  private func upload(_ index: Int, in folder: URL) throws -> (path: String, size: Int64) {
    var csv = "id,name,email\n"
    for row in 0 ..< self.rows {
      let id = 1000 + index * self.rows + row
      csv += row == self.rows - 1 ? "\(id),,bad\(id)@example.com\n" : "\(id),Customer \(id),c\(id)@example.com\n"
    }
    let url = folder.appendingPathComponent("small-\(index).csv")
    try Data(csv.utf8).write(to: url)
    return (url.path, Int64(csv.utf8.count))
  }

  /// Runs one job through every phase; its id and the seconds of each phase.
  private static func small(
    _ client: BulkClient,
    file: (path: String, size: Int64),
    rows: Int
  ) async throws -> (String, Phases) {
    var phases = Phases()
    var clock = ContinuousClock.now
    func lap() -> Double {
      let now = ContinuousClock.now
      defer { clock = now }
      return (now - clock).inSeconds
    }
    let job = try await client.create(
      .with {
        $0.operation = .insert
        $0.object = "customers"
      }
    )
    phases.create = lap()
    try await client.upload(file.path, size: file.size, into: job.jobID)
    phases.upload = lap()
    let done = try await client.closeAndFollow(job.jobID, retry: RetryPolicy(), progress: RetryNotes())
    phases.closeAndWatch = lap()
    let failed = try await client.download(
      job.jobID,
      set: .failed,
      format: .csv,
      pageRecords: 0,
      retry: RetryPolicy(),
      progress: RetryNotes()
    ) { _ in }
    phases.results = lap()
    guard done.state == .jobComplete, done.numberRecordsProcessed == rows, done.numberRecordsFailed == 1, failed == 1
    else {
      throw ValidationError(
        "job \(job.jobID) ended \(done.state) with \(done.numberRecordsProcessed) processed, "
          + "\(done.numberRecordsFailed) failed, \(failed) failed records downloaded: \(done.errorMessage)"
      )
    }
    return (job.jobID, phases)
  }
}
