internal import ArgumentParser
internal import BulkCore
internal import BulkGRPCClient
internal import BulkProto
internal import BulkS3
internal import BulkTestSupport
internal import Foundation
internal import SwiftProtobuf

/// `spectra-bench instances`: the same insert jobs run by 1, 2, … `spectra-bulk serve` instances
/// sharing one PostgreSQL catalog (`--catalog`), one S3 storage (`--storage`, moto) and one
/// PostgreSQL warehouse: chunks per second, and the catalog's overhead per chunk (queries and
/// milliseconds by statement kind, from `pg_stat_statements`), with one job and with `--jobs`
/// jobs at once. Each instance has an `--instance-id` of its own, by which `spectra.chunks`
/// tells which ran each chunk.
///
/// The catalog is a database of its own in the cluster (a fresh one each pass), so that its
/// statements are counted apart from the warehouse's.
struct Instances: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Chunks per second with 1, 2, 3 instances sharing a PostgreSQL catalog, and the catalog's queries per chunk."
  )

  @Option(help: "Insert jobs closed at once (each pass also runs a single job).")
  var jobs = 8

  @Option(help: "Records per job.")
  var rows = 100_000

  @Option(help: "The servers' --chunk-records.")
  var chunkRecords = 5_000

  @Option(help: "The most instances: passes run 1 through this many.")
  var instances = 3

  @Option(help: "The servers' --lease-duration: other instances join a job at their heartbeat, every third of it.")
  var leaseDuration = "30s"

  @Option(help: "Jobs uploaded at once before they are all closed.")
  var uploaders = 4

  @Option(help: "Also write the figures to this file as JSON.")
  var json: String?

  @Option(help: "Flags passed on to every `spectra-bulk serve` (repeat the option for each).")
  var serverFlag: [String] = []

  /// The bucket the instances share; each pass keeps its objects under a prefix of its own.
  private static let bucket = "spectra-bench"
  /// The database of the warehouse (the tenant's schema `bench`).
  private static let warehouseDatabase = "warehouse"

  func validate() throws {
    guard self.jobs > 0, self.rows > 0, self.chunkRecords > 0, self.instances > 0, self.uploaders > 0 else {
      throw ValidationError("--jobs, --rows, --chunk-records, --instances and --uploaders must be positive")
    }
  }

  func run() async throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
      "spectra-instances-\(UUID().uuidString)"
    )
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let csv = try BenchTenants.csv(rows: self.rows, folder: scratch)
    let tenants = scratch.appendingPathComponent("tenants.json")
    try Data(BenchDatabases.tenantsFile.utf8).write(to: tenants)

    let cluster = try await PostgresCluster.launch(preloading: ["pg_stat_statements"])
    defer { cluster.remove() }
    try cluster.psql("CREATE EXTENSION pg_stat_statements")
    try cluster.createDatabase(Self.warehouseDatabase)
    // No key: every job loads the same ids.
    try cluster.psql(
      """
      CREATE SCHEMA \(BenchDatabases.tenant);
      CREATE TABLE \(BenchDatabases.qualifiedTable) (id bigint, name text, email text,
        created_at timestamp with time zone, amount numeric(12,2));
      """,
      database: Self.warehouseDatabase
    )
    // moto 5.2.1 with authentication refuses a ListObjectsV2 whose prefix holds a `/`, which the
    // S3 storage lists by.
    let moto = try await MotoServer.launch(authentication: false)
    defer { moto.stop() }
    try await Self.createBucket(moto)

    let chunksPerJob = (self.rows + self.chunkRecords - 1) / self.chunkRecords
    print(
      "spectra-bench instances: jobs of \(self.rows) records (\(csv.size) bytes of CSV, \(chunksPerJob) chunks each), "
        + "1 and \(self.jobs) jobs at once, 1 to \(self.instances) instances on a PostgreSQL catalog, S3 storage (moto) "
        + "and a PostgreSQL warehouse, --lease-duration \(self.leaseDuration)"
    )
    var report = InstancesReport(
      cores: ProcessInfo.processInfo.activeProcessorCount,
      rowsPerJob: self.rows,
      chunkRecords: self.chunkRecords,
      leaseDuration: self.leaseDuration,
      serverFlags: self.serverFlag
    )
    let setup = Setup(cluster: cluster, moto: moto, tenants: tenants, csv: csv, scratch: scratch)
    for instances in 1 ... self.instances {
      for jobs in Array(Set([1, self.jobs])).sorted() {
        let pass = try await self.measure(instances: instances, jobs: jobs, index: report.passes.count, setup: setup)
        print(
          String(
            format:
              "  %d instance(s), %d job(s): %d chunks in %.2f s, %.1f chunks/s; catalog %.2f queries, %.3f ms per chunk",
            instances,
            jobs,
            pass.chunks,
            pass.seconds,
            pass.chunksPerSecond,
            pass.perChunk(Double(pass.catalogCalls)),
            pass.perChunk(pass.catalogMilliseconds)
          )
        )
        report.passes.append(pass)
      }
    }
    print(report.table)
    if let json = self.json {
      try report.json().write(to: URL(fileURLWithPath: json))
      print("wrote \(json)")
    }
  }

  /// What every pass shares.
  private struct Setup {
    var cluster: PostgresCluster
    var moto: MotoServer
    var tenants: URL
    var csv: (path: String, size: Int64)
    var scratch: URL
  }

  /// One pass: a fresh catalog database, an empty table and a fresh S3 prefix; `instances`
  /// servers; `jobs` jobs created and uploaded round robin through them, then closed round robin
  /// and followed to the end, the catalog's statements counted from the first close.
  private func measure(instances: Int, jobs: Int, index: Int, setup: Setup) async throws -> InstancesReport.Pass {
    let cluster = setup.cluster
    let catalog = "catalog_\(index)"
    try cluster.createDatabase(catalog)
    try cluster.psql("TRUNCATE \(BenchDatabases.qualifiedTable)", database: Self.warehouseDatabase)
    let folder = setup.scratch.appendingPathComponent("pass-\(index)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var servers: [BenchServer] = []
    defer {
      for server in servers { server.stop() }
    }
    for instance in 0 ..< instances {
      servers.append(
        try BenchServer(
          arguments: [
            "--data-dir", folder.appendingPathComponent("instance-\(instance)").path,
            "--tenants", setup.tenants.path,
            "--warehouse", cluster.url(database: Self.warehouseDatabase),
            "--catalog", cluster.url(database: catalog),
            "--storage", "s3://\(Self.bucket)/pass-\(index)",
            "--s3-endpoint", setup.moto.endpoint,
            "--chunk-records", String(self.chunkRecords),
            "--instance-id", "instance-\(instance)",
            "--lease-duration", self.leaseDuration,
          ] + self.serverFlag,
          environment: [
            "AWS_ACCESS_KEY_ID": setup.moto.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": setup.moto.secretAccessKey,
            "AWS_REGION": "us-east-1",
          ],
          log: folder.appendingPathComponent("instance-\(instance).log")
        )
      )
    }
    let (csv, uploaders) = (setup.csv, self.uploaders)
    let start = ContinuousClock.now
    var processing = start
    var cpuBefore: [Double] = []
    let finished = try await Self.withClients(servers[...]) { clients in
      var ids: [String] = Array(repeating: "", count: jobs)
      try await withThrowingTaskGroup(of: (Int, String).self) { group in
        for job in 0 ..< jobs {
          if job >= uploaders, let (index, id) = try await group.next() { ids[index] = id }
          let client = clients[job % clients.count]
          group.addTask { (job, try await Self.createAndUpload(client, csv: csv)) }
        }
        for try await (index, id) in group { ids[index] = id }
      }
      try cluster.psql("SELECT pg_stat_statements_reset()")
      cpuBefore = Self.processorSeconds(servers, setup: setup)
      processing = ContinuousClock.now
      for (job, id) in ids.enumerated() {
        _ = try await clients[job % clients.count].update(id, to: .uploadComplete)
      }
      return try await withThrowingTaskGroup(of: Spectra_Bulk_V1_Job.self) { group in
        for (job, id) in ids.enumerated() {
          let client = clients[job % clients.count]
          group.addTask { try await client.follow(id, retry: RetryPolicy(), progress: RetryNotes()) }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
    }
    let seconds = (ContinuousClock.now - processing).inSeconds
    let cpu = zip(Self.processorSeconds(servers, setup: setup), cpuBefore).map { $0 - $1 }
    let statements = try Self.statements(cluster, catalog: catalog)
    let holders = try Self.chunksByHolder(cluster, catalog: catalog)
    for job in finished
    where job.state != .jobComplete || job.numberRecordsProcessed != self.rows || job.numberRecordsFailed != 0 {
      throw ValidationError(
        "job \(job.jobID) ended \(job.state) with \(job.numberRecordsProcessed) records processed, "
          + "\(job.numberRecordsFailed) failed: \(job.errorMessage)\n\(servers.map(\.logTail).joined(separator: "\n"))"
      )
    }
    let loaded = try cluster.psql(
      "SELECT count(*) FROM \(BenchDatabases.qualifiedTable)",
      database: Self.warehouseDatabase
    )
    guard Int(loaded.trimmingCharacters(in: .whitespacesAndNewlines)) == jobs * self.rows else {
      throw ValidationError(
        "the warehouse holds \(loaded) rows after \(jobs) jobs of \(self.rows), not every record once"
      )
    }
    return InstancesReport.Pass(
      instances: instances,
      jobs: jobs,
      records: jobs * self.rows,
      chunks: holders.values.reduce(0, +),
      seconds: seconds,
      uploadSeconds: (processing - start).inSeconds,
      catalog: statements.catalog,
      warehouse: statements.warehouse,
      instanceCPUSeconds: Array(cpu.dropLast(2)),
      postgresCPUSeconds: cpu[cpu.count - 2],
      motoCPUSeconds: cpu[cpu.count - 1],
      chunksByInstance: (0 ..< instances).map { holders["instance-\($0)", default: 0] }
    )
  }

  /// The processor seconds used so far by each instance, then by PostgreSQL's backends, then by
  /// moto.
  private static func processorSeconds(_ servers: [BenchServer], setup: Setup) -> [Double] {
    let pidFile = try? String(contentsOfFile: "\(setup.cluster.directory)/data/postmaster.pid", encoding: .utf8)
    let postmaster = pidFile?.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    return servers.map(\.cpuSeconds) + [
      postmaster.map { ProcessorTime.secondsOfChildren(of: $0) } ?? 0, ProcessorTime.seconds(of: setup.moto.pid),
    ]
  }

  /// The chunks each instance finished, by its instance id, from the catalog's `spectra.chunks`.
  private static func chunksByHolder(_ cluster: PostgresCluster, catalog: String) throws -> [String: Int] {
    let rows = try cluster.psql("SELECT holder, count(*) FROM spectra.chunks GROUP BY holder", database: catalog)
    var counts: [String: Int] = [:]
    for line in rows.split(separator: "\n") {
      let fields = line.split(separator: "|")
      guard fields.count == 2, let count = Int(fields[1]) else {
        throw ValidationError("cannot read the spectra.chunks row \(line)")
      }
      counts[String(fields[0])] = count
    }
    return counts
  }

  /// The statements `pg_stat_statements` counted in the catalog's database, by kind, and in the
  /// warehouse's, all together.
  private static func statements(
    _ cluster: PostgresCluster,
    catalog: String
  ) throws -> (catalog: [InstancesReport.Kind], warehouse: InstancesReport.Kind) {
    let rows = try cluster.psql(
      """
      SELECT d.datname, s.calls, s.total_exec_time, regexp_replace(s.query, '\\s+', ' ', 'g')
      FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname IN ('\(catalog)', '\(Self.warehouseDatabase)')
      """
    )
    var kinds: [String: InstancesReport.Kind] = [:]
    var warehouse = InstancesReport.Kind(kind: "warehouse", calls: 0, milliseconds: 0)
    for line in rows.split(separator: "\n") {
      // The query comes last: its own `|`s stay in it.
      let fields = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
      guard fields.count == 4, let calls = Int(fields[1]), let milliseconds = Double(fields[2]) else {
        throw ValidationError("cannot read the pg_stat_statements row \(line)")
      }
      if fields[0] == Self.warehouseDatabase {
        warehouse.calls += calls
        warehouse.milliseconds += milliseconds
        continue
      }
      let kind = InstancesReport.kind(of: String(fields[3]))
      kinds[kind, default: InstancesReport.Kind(kind: kind, calls: 0, milliseconds: 0)].calls += calls
      kinds[kind, default: InstancesReport.Kind(kind: kind, calls: 0, milliseconds: 0)].milliseconds += milliseconds
    }
    return (kinds.values.sorted { $0.calls != $1.calls ? $0.calls > $1.calls : $0.kind < $1.kind }, warehouse)
  }

  /// Calls `body` with a client of each server, in order.
  private static func withClients<Result: Sendable>(
    _ servers: ArraySlice<BenchServer>,
    opened: [BulkClient] = [],
    _ body: ([BulkClient]) async throws -> Result
  ) async throws -> Result {
    guard let server = servers.first else { return try await body(opened) }
    return try await server.withClient(token: BenchDatabases.token) { client in
      try await Self.withClients(servers.dropFirst(), opened: opened + [client], body)
    }
  }

  private static func createAndUpload(_ client: BulkClient, csv: (path: String, size: Int64)) async throws -> String {
    let job = try await client.create(
      .with {
        $0.operation = .insert
        $0.object = BenchDatabases.table
      }
    )
    try await client.upload(csv.path, size: csv.size, into: job.jobID)
    return job.jobID
  }

  /// Creates the shared bucket in moto.
  private static func createBucket(_ moto: MotoServer) async throws {
    let http = S3HTTPTransport()
    do {
      let s3 = try S3Client(
        configuration: S3Configuration(region: "us-east-1", endpoint: URL(string: moto.endpoint)!),
        credentials: S3StaticCredentials(
          S3Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)
        ),
        http: http
      )
      try await s3.createBucket(Self.bucket)
    } catch {
      try await http.shutdown()
      throw error
    }
    try await http.shutdown()
  }
}
