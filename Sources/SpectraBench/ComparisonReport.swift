internal import Foundation

/// The figures of `spectra-bench compare`: per case, every round's seconds for the job and for
/// its baseline, their medians and ratio, and the server's peak memory; printed as a table and
/// written as JSON.
struct ComparisonReport: Encodable, Sendable {
  /// The machine the figures were taken on.
  struct Machine: Encodable, Sendable {
    var cores: Int
    var memoryBytes: UInt64
  }

  /// One comparison: a job against the tool a user would run instead.
  struct Case: Encodable, Sendable {
    /// `insert`, `upsert`, `export`, `export_query`, `export_grpcio`, `sqlite_insert` or
    /// `sqlite_insert_rollback`.
    var name: String
    /// What the job does, e.g. `insert job over gRPC into PostgreSQL`.
    var job: String
    /// The baseline's command, e.g. `psql \copy`.
    var baseline: String
    /// Whether the case ran; `false` with `reason` when the server cannot do it yet.
    var available = true
    var reason: String?
    var jobSeconds: [Double] = []
    var baselineSeconds: [Double] = []
    /// The part of each round's job spent creating the job and uploading its data; the rest is
    /// processing. For an export, the part until the job was complete; the rest is the download.
    var uploadSeconds: [Double] = []
    /// The server's processor time (user and system) in each round's job.
    var serverCPUSeconds: [Double] = []
    /// The highest peak RSS of the server over the case's rounds, in bytes.
    var serverPeakRSSBytes = 0
    /// The ratio the case should stay under.
    var targetRatio: Double

    var jobMedian: Double? { self.jobSeconds.median }
    var baselineMedian: Double? { self.baselineSeconds.median }
    /// The job's median time over the baseline's.
    var ratio: Double? {
      guard let job = self.jobMedian, let baseline = self.baselineMedian, baseline > 0 else { return nil }
      return job / baseline
    }

    private enum CodingKeys: String, CodingKey {
      case name, job, baseline, available, reason, jobSeconds, baselineSeconds, uploadSeconds, serverCPUSeconds
      case serverPeakRSSBytes
      case targetRatio
      case jobMedian, baselineMedian, ratio
    }

    init(name: String, job: String, baseline: String, targetRatio: Double) {
      self.name = name
      self.job = job
      self.baseline = baseline
      self.targetRatio = targetRatio
    }

    /// Writes the stored figures and the derived ones (medians, ratio).
    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(self.name, forKey: .name)
      try container.encode(self.job, forKey: .job)
      try container.encode(self.baseline, forKey: .baseline)
      try container.encode(self.available, forKey: .available)
      try container.encodeIfPresent(self.reason, forKey: .reason)
      try container.encode(self.jobSeconds, forKey: .jobSeconds)
      try container.encode(self.baselineSeconds, forKey: .baselineSeconds)
      try container.encode(self.uploadSeconds, forKey: .uploadSeconds)
      try container.encode(self.serverCPUSeconds, forKey: .serverCPUSeconds)
      try container.encode(self.serverPeakRSSBytes, forKey: .serverPeakRSSBytes)
      try container.encode(self.targetRatio, forKey: .targetRatio)
      try container.encodeIfPresent(self.jobMedian, forKey: .jobMedian)
      try container.encodeIfPresent(self.baselineMedian, forKey: .baselineMedian)
      try container.encodeIfPresent(self.ratio, forKey: .ratio)
    }
  }

  var machine: Machine
  var rows: Int
  var csvBytes: Int
  var rounds: Int
  /// The server's flags beyond the defaults, e.g. `["--workers", "2"]`.
  var serverFlags: [String]
  var cases: [Case]
  /// The peak RSS the server must stay under in every case.
  var rssLimitBytes: Int

  /// The report as a table, one line per case.
  var table: String {
    var lines = [
      String(
        format: "%@ rows, %.1f MB of CSV, median of %d rounds, server flags: %@",
        String(self.rows) as NSString,
        Double(self.csvBytes) / 1e6,
        self.rounds,
        (self.serverFlags.isEmpty ? "defaults" : self.serverFlags.joined(separator: " ")) as NSString
      ),
      "case                    job (s)  baseline (s)  ratio  target  server peak RSS  baseline",
    ]
    for entry in self.cases {
      let name = entry.name.padding(toLength: 22, withPad: " ", startingAt: 0)
      guard entry.available, let job = entry.jobMedian, let baseline = entry.baselineMedian, let ratio = entry.ratio
      else {
        lines.append("\(name)  not available: \(entry.reason ?? "no figures")")
        continue
      }
      let verdict = ratio <= entry.targetRatio && entry.serverPeakRSSBytes < self.rssLimitBytes ? "" : "  (over target)"
      lines.append(
        String(
          format: "%@ %8.2f  %12.2f  %5.2fx  %5.2fx  %11d MiB  %@%@",
          name as NSString,
          job,
          baseline,
          ratio,
          entry.targetRatio,
          entry.serverPeakRSSBytes >> 20,
          entry.baseline as NSString,
          verdict as NSString
        )
      )
    }
    return lines.joined(separator: "\n")
  }

  /// The report as pretty-printed JSON with snake_case keys.
  func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try encoder.encode(self)
  }
}
