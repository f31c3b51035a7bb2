internal import ArgumentParser
internal import BulkProto
internal import Foundation
internal import NIOCore

/// `spectra-bench compare`: jobs run end to end through gRPC against the real release server,
/// each beside the tool a user would run instead on the same data in the same run: `psql \copy`,
/// an upsert by hand in `psql`, `psql \copy (SELECT …) TO` and `sqlite3 .import`. The export runs
/// twice: downloaded by our Swift client, and by Python's `grpcio` with the generated stubs.
///
/// Rounds alternate which side goes first; the table shows medians and their ratios, and the
/// server's peak RSS (`VmHWM`), each job having a server process of its own.
struct Compare: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Insert, upsert and export jobs against psql and sqlite3 on the same CSV, with the server's peak RSS."
  )

  @Option(help: "Rows of the generated CSV.")
  var rows = 1_000_000

  @Option(help: "Rounds of each case (at least 1); medians are reported.")
  var rounds = 3

  @Option(help: "Also write the figures to this file as JSON.")
  var json: String?

  @Option(help: "The server's --workers; its default when absent.")
  var workers: Int?

  @Option(help: "The server's --chunk-records; its default when absent.")
  var chunkRecords: Int?

  /// Every case, in the order they run.
  static let caseNames = [
    "insert", "upsert", "export", "export_query", "export_grpcio", "sqlite_insert", "sqlite_insert_rollback",
  ]

  @Option(help: "Cases to run, comma separated: \(Compare.caseNames.joined(separator: ", ")).")
  var cases = Compare.caseNames.joined(separator: ",")

  /// How long a job may take before the case is abandoned: a server that never finishes a job
  /// must not hang the benchmark.
  @Option(help: "Seconds a job may take before the benchmark gives up on it.")
  var jobTimeout = 600

  /// The peak RSS the server must stay under (#18).
  private static let rssLimit = 150 << 20
  /// The ratio every case should stay at or under (#18): the database's own tool's time, and
  /// less for the upsert, which the job applies in parallel chunks.
  private static let targetRatio = 1.0
  private static let upsertTargetRatio = 0.9

  func validate() throws {
    guard self.rows > 0 else { throw ValidationError("--rows must be positive") }
    guard self.rounds > 0 else { throw ValidationError("--rounds must be positive") }
    let known = Set(Self.caseNames)
    for name in self.selectedCases where !known.contains(name) {
      throw ValidationError("unknown case '\(name)'; the cases are \(known.sorted().joined(separator: ", "))")
    }
  }

  private var selectedCases: [String] {
    self.cases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
  }

  private var serverFlags: [String] {
    (self.workers.map { ["--workers", String($0)] } ?? [])
      + (self.chunkRecords.map { ["--chunk-records", String($0)] } ?? [])
  }

  func run() async throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-compare-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }

    let csvBuffer = SampleCSV.make(rows: self.rows)
    let csv = Data(csvBuffer.readableBytesView)
    let csvFile = scratch.appendingPathComponent("payments.csv")
    try csv.write(to: csvFile)
    let tenants = scratch.appendingPathComponent("tenants.json")
    try Data(BenchDatabases.tenantsFile.utf8).write(to: tenants)

    let databases = try await BenchDatabases.start()
    defer { databases.remove() }
    let bench = ComparisonRunner(
      flags: ["--tenants", tenants.path] + self.serverFlags,
      scratch: scratch,
      databases: databases,
      csv: csv,
      csvFile: csvFile,
      rows: self.rows,
      timeout: .seconds(self.jobTimeout)
    )

    print("spectra-bench compare: \(self.rows) rows (\(csv.count) bytes of CSV), \(self.rounds) rounds")
    var report = ComparisonReport(
      machine: .init(
        cores: ProcessInfo.processInfo.activeProcessorCount,
        memoryBytes: ProcessInfo.processInfo.physicalMemory
      ),
      rows: self.rows,
      csvBytes: csv.count,
      rounds: self.rounds,
      serverFlags: self.serverFlags,
      cases: [],
      rssLimitBytes: Self.rssLimit
    )
    for name in self.selectedCases {
      var entry = Self.describe(name)
      for round in 0 ..< self.rounds {
        do {
          let (job, baseline) = try await bench.run(name, jobFirst: round.isMultiple(of: 2))
          entry.jobSeconds.append(job.seconds)
          entry.baselineSeconds.append(baseline)
          entry.uploadSeconds.append(job.uploadSeconds)
          entry.serverCPUSeconds.append(job.cpuSeconds)
          entry.serverPeakRSSBytes = max(entry.serverPeakRSSBytes, job.peakRSS)
          print(
            String(
              format:
                "  %@ round %d: job %.2f s (%@ %.2f s, server CPU %.2f s), baseline %.2f s, server peak RSS %d MiB",
              name as NSString,
              round + 1,
              (name.hasPrefix("export") ? "until complete" : "upload") as NSString,
              job.seconds,
              job.uploadSeconds,
              job.cpuSeconds,
              baseline,
              job.peakRSS >> 20
            )
          )
        } catch let unavailable as CaseUnavailable {
          entry.available = false
          entry.reason = unavailable.reason
          print("  \(name): not available: \(unavailable.reason)")
          break
        }
      }
      report.cases.append(entry)
    }
    print(report.table)
    if let json = self.json {
      try report.json().write(to: URL(fileURLWithPath: json))
      print("wrote \(json)")
    }
  }

  private static func describe(_ name: String) -> ComparisonReport.Case {
    switch name {
    case "insert":
      ComparisonReport.Case(
        name: name,
        job: "insert job over gRPC into PostgreSQL",
        baseline: #"psql \copy"#,
        targetRatio: Self.targetRatio
      )
    case "upsert":
      ComparisonReport.Case(
        name: name,
        job: "upsert job (key id) over the loaded table",
        baseline: #"psql: \copy to a temp table + INSERT ON CONFLICT"#,
        targetRatio: Self.upsertTargetRatio
      )
    case "export":
      ComparisonReport.Case(
        name: name,
        job: "query job without a query (the whole table) downloaded over gRPC",
        baseline: #"psql \copy (SELECT *) TO"#,
        targetRatio: Self.targetRatio
      )
    case "export_query":
      ComparisonReport.Case(
        name: name,
        job: "query job SELECT * FROM payments, written out, downloaded over gRPC",
        baseline: #"psql \copy (SELECT *) TO"#,
        targetRatio: Self.targetRatio
      )
    case "export_grpcio":
      ComparisonReport.Case(
        name: name,
        job: "the whole-table job, by Python grpcio, \(PythonExport.pageRecords)-record pages",
        baseline: #"psql \copy (SELECT *) TO"#,
        targetRatio: Self.targetRatio
      )
    case "sqlite_insert_rollback":
      ComparisonReport.Case(
        name: name,
        job: "the same job",
        baseline: "sqlite3 .import into a rollback-journal file",
        targetRatio: Self.targetRatio
      )
    default:
      ComparisonReport.Case(
        name: name,
        job: "insert job over gRPC into the embedded SQLite",
        baseline: "sqlite3 .import into a WAL file, as the server's",
        targetRatio: Self.targetRatio
      )
    }
  }
}

/// A case the server cannot run (yet): reported as not available rather than failing the run.
struct CaseUnavailable: Error {
  var reason: String
}
