internal import Foundation

/// The figures of `spectra-bench instances`: per pass (instances × jobs at once), the chunks per
/// second, and the catalog's and the warehouse's queries and milliseconds per chunk, those of the
/// catalog by statement kind; printed as tables with ratios and written as JSON.
struct InstancesReport: Encodable, Sendable {
  /// The queries of one statement kind in one pass, from `pg_stat_statements`.
  struct Kind: Encodable, Sendable {
    /// E.g. `claims (INSERT leases)`.
    var kind: String
    var calls: Int
    /// The statements' execution time in PostgreSQL (`total_exec_time`), not the round trips.
    var milliseconds: Double
  }

  /// One pass: `instances` servers sharing the catalog, the storage and the warehouse, `jobs`
  /// insert jobs closed at once.
  struct Pass: Encodable, Sendable {
    var instances: Int
    var jobs: Int
    var records: Int
    var chunks: Int
    /// From the first close to the last job complete.
    var seconds: Double
    /// Creating and uploading the jobs, before the first close.
    var uploadSeconds: Double
    /// The catalog's statements while the jobs ran, by kind, most calls first.
    var catalog: [Kind]
    /// The warehouse's statements while the jobs ran (chunks, ledger), all kinds together.
    var warehouse: Kind
    /// Each instance's processor time (user and system) while the jobs ran.
    var instanceCPUSeconds: [Double]
    /// The processor time of PostgreSQL's backends (catalog and warehouse) while the jobs ran.
    var postgresCPUSeconds: Double
    /// moto's processor time (the S3 storage) while the jobs ran.
    var motoCPUSeconds: Double
    /// Chunks finished by each instance, in instance order.
    var chunksByInstance: [Int]

    var chunksPerSecond: Double { Double(self.chunks) / max(self.seconds, 1e-9) }
    var catalogCalls: Int { self.catalog.reduce(0) { $0 + $1.calls } }
    var catalogMilliseconds: Double { self.catalog.reduce(0) { $0 + $1.milliseconds } }

    /// `value` per chunk of this pass.
    func perChunk(_ value: Double) -> Double { value / Double(max(self.chunks, 1)) }

    private enum CodingKeys: String, CodingKey {
      case instances, jobs, records, chunks, seconds, uploadSeconds, catalog, warehouse, instanceCPUSeconds
      case postgresCPUSeconds, motoCPUSeconds
      case chunksByInstance, chunksPerSecond, catalogCallsPerChunk, catalogMillisecondsPerChunk
      case warehouseMillisecondsPerChunk
    }

    /// Writes the stored figures and the derived ones (rates, per-chunk figures).
    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(self.instances, forKey: .instances)
      try container.encode(self.jobs, forKey: .jobs)
      try container.encode(self.records, forKey: .records)
      try container.encode(self.chunks, forKey: .chunks)
      try container.encode(self.seconds, forKey: .seconds)
      try container.encode(self.uploadSeconds, forKey: .uploadSeconds)
      try container.encode(self.catalog, forKey: .catalog)
      try container.encode(self.warehouse, forKey: .warehouse)
      try container.encode(self.instanceCPUSeconds, forKey: .instanceCPUSeconds)
      try container.encode(self.postgresCPUSeconds, forKey: .postgresCPUSeconds)
      try container.encode(self.motoCPUSeconds, forKey: .motoCPUSeconds)
      try container.encode(self.chunksByInstance, forKey: .chunksByInstance)
      try container.encode(self.chunksPerSecond, forKey: .chunksPerSecond)
      try container.encode(self.perChunk(Double(self.catalogCalls)), forKey: .catalogCallsPerChunk)
      try container.encode(self.perChunk(self.catalogMilliseconds), forKey: .catalogMillisecondsPerChunk)
      try container.encode(self.perChunk(self.warehouse.milliseconds), forKey: .warehouseMillisecondsPerChunk)
    }
  }

  var cores: Int
  var rowsPerJob: Int
  var chunkRecords: Int
  var leaseDuration: String
  var serverFlags: [String]
  var passes: [Pass] = []

  /// The kind of a catalog statement as `pg_stat_statements` normalised it (white space folded):
  /// what it writes, else what it reads first, in `jobs`, `leases` or `chunks`.
  static func kind(of query: String) -> String {
    let text = query.lowercased().trimmingCharacters(in: .whitespaces)
    if text.contains("pg_notify") || text.hasPrefix("notify") { return "notifications (pg_notify)" }
    if text.hasPrefix("listen") { return "listen" }
    if text.contains("pg_advisory") { return "advisory locks" }
    if ["begin", "commit", "rollback", "start transaction"].contains(where: { text.hasPrefix($0) }) {
      return "transaction control"
    }
    // A write may follow a WITH; `update` also appears in `FOR UPDATE` and `DO UPDATE SET`.
    let statements: [(verb: String, keyword: String)] = [
      ("INSERT", "insert into "), ("DELETE", "delete from "),
      ("UPDATE", text.hasPrefix("update ") ? "update " : ") update "),
      ("SELECT", "from "),
    ]
    for (verb, keyword) in statements {
      // The first occurrence naming a table: `from` also appears in `extract(epoch from …)`.
      var rest = text[...]
      var table: String?
      while table == nil, let found = rest.range(of: keyword) {
        let target = rest[found.upperBound...].prefix { $0 != " " && $0 != "(" && $0 != ")" && $0 != "," }
        table = ["jobs", "leases", "chunks"].first {
          target == $0 || target.hasSuffix(".\($0)") || target.hasSuffix("\"\($0)\"")
        }
        rest = rest[found.upperBound...]
      }
      guard let table else { continue }
      let names = [
        "INSERT leases": "claims", "UPDATE leases": "heartbeats", "DELETE leases": "releases",
        "SELECT leases": "lease reads",
        "INSERT chunks": "chunk records", "SELECT chunks": "chunk reads", "SELECT jobs": "job reads",
        "UPDATE jobs": "job updates", "INSERT jobs": "job creations",
      ]
      let statement = "\(verb) \(table)"
      return names[statement].map { "\($0) (\(statement))" } ?? statement
    }
    return "other"
  }

  /// The passes' summary, the catalog's statements by kind, and the ratios.
  var table: String {
    let heads = [
      ("instances", 9), ("jobs", 5), ("chunks", 7), ("seconds", 8), ("chunks/s", 9), ("vs 1", 8),
      ("catalog q/ch", 12), ("catalog ms/ch", 13), ("warehouse ms/ch", 15),
    ]
    var lines = [
      heads.map { String(repeating: " ", count: max(0, $0.1 - $0.0.count)) + $0.0 }.joined(separator: " ")
        + "  CPU s: PostgreSQL, moto, each instance (its chunks)"
    ]
    for pass in self.passes {
      let single = self.passes.first { $0.instances == 1 && $0.jobs == pass.jobs }
      let versus = single.map { pass.chunksPerSecond / $0.chunksPerSecond } ?? 1
      let spread = pass.instanceCPUSeconds.enumerated().map { index, seconds in
        String(format: "%.1f", seconds)
          + (index < pass.chunksByInstance.count ? " (\(pass.chunksByInstance[index]))" : "")
      }
      lines.append(
        String(
          format: "%9d %5d %7d %8.2f %9.1f %7.2fx %12.2f %13.3f %15.3f  ",
          pass.instances,
          pass.jobs,
          pass.chunks,
          pass.seconds,
          pass.chunksPerSecond,
          versus,
          pass.perChunk(Double(pass.catalogCalls)),
          pass.perChunk(pass.catalogMilliseconds),
          pass.perChunk(pass.warehouse.milliseconds)
        ) + String(format: "%.1f, %.1f, ", pass.postgresCPUSeconds, pass.motoCPUSeconds)
          + spread.joined(separator: ", ")
      )
    }
    lines.append("")
    lines.append("catalog statements per chunk while the jobs ran: queries / milliseconds (execution in PostgreSQL)")
    let kinds = Self.kindsInOrder(self.passes)
    let columns = self.passes.map { "\($0.instances) inst, \($0.jobs) job\($0.jobs == 1 ? "" : "s")" }
    lines.append(
      "kind".padding(toLength: 34, withPad: " ", startingAt: 0)
        + columns.map { $0.padding(toLength: 17, withPad: " ", startingAt: 0) }.joined()
    )
    for kind in kinds {
      let cells = self.passes.map { pass -> String in
        let figure = pass.catalog.first { $0.kind == kind }
        return String(
          format: "%5.2f / %7.4f   ",
          pass.perChunk(Double(figure?.calls ?? 0)),
          pass.perChunk(figure?.milliseconds ?? 0)
        )
      }
      lines.append(kind.padding(toLength: 34, withPad: " ", startingAt: 0) + cells.joined())
    }
    lines.append("")
    lines.append(contentsOf: self.ratios)
    return lines.joined(separator: "\n")
  }

  /// Chunks per second against one instance, and the catalog's queries and milliseconds per chunk
  /// against the fewest jobs and against one instance.
  private var ratios: [String] {
    var lines: [String] = []
    let jobCounts = Array(Set(self.passes.map(\.jobs))).sorted()
    let instanceCounts = Array(Set(self.passes.map(\.instances))).sorted()
    func pass(_ instances: Int, _ jobs: Int) -> Pass? {
      self.passes.first { $0.instances == instances && $0.jobs == jobs }
    }
    for jobs in jobCounts {
      guard let single = pass(1, jobs) else { continue }
      let others = instanceCounts.dropFirst().compactMap { count in
        pass(count, jobs).map {
          String(
            format: "%d instances %.2fx (catalog q/chunk %.2fx, ms/chunk %.2fx)",
            count,
            $0.chunksPerSecond / single.chunksPerSecond,
            $0.perChunk(Double($0.catalogCalls)) / max(single.perChunk(Double(single.catalogCalls)), 1e-9),
            $0.perChunk($0.catalogMilliseconds) / max(single.perChunk(single.catalogMilliseconds), 1e-9)
          )
        }
      }
      guard !others.isEmpty else { continue }
      lines.append("\(jobs) job\(jobs == 1 ? "" : "s"), against 1 instance: chunks/s " + others.joined(separator: "; "))
    }
    if let fewest = jobCounts.first, let most = jobCounts.last, fewest != most {
      let growth = instanceCounts.compactMap { count -> String? in
        guard let few = pass(count, fewest), let many = pass(count, most) else { return nil }
        return "\(count) instance\(count == 1 ? "" : "s") "
          + String(
            format: "q/chunk %.2fx, ms/chunk %.2fx",
            many.perChunk(Double(many.catalogCalls)) / max(few.perChunk(Double(few.catalogCalls)), 1e-9),
            many.perChunk(many.catalogMilliseconds) / max(few.perChunk(few.catalogMilliseconds), 1e-9)
          )
      }
      lines.append("catalog overhead, \(most) jobs at once against \(fewest): " + growth.joined(separator: "; "))
    }
    return lines
  }

  /// Every kind seen, those with the most calls over all passes first.
  private static func kindsInOrder(_ passes: [Pass]) -> [String] {
    var calls: [String: Int] = [:]
    for pass in passes {
      for figure in pass.catalog { calls[figure.kind, default: 0] += figure.calls }
    }
    return calls.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
  }

  func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try encoder.encode(self)
  }
}
