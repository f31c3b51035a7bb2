internal import ArgumentParser
internal import BulkCore
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import SwiftProtobuf

/// Runs one round of one case of `spectra-bench compare`: the job through a fresh server, and
/// its baseline, in the order asked, each checked for the rows it should leave.
struct ComparisonRunner: Sendable {
  /// Flags for every server: the tenants file, workers, chunk size.
  let flags: [String]
  let scratch: URL
  let databases: BenchDatabases
  let csv: Data
  let csvFile: URL
  let rows: Int
  let timeout: Duration

  /// The client's retries, as `spectra-bulk` makes them.
  private static let retry = BulkGRPCClient.RetryPolicy()
  private static let notes = RetryNotes()

  /// What one job took, as its client and its server saw it.
  struct JobMeasurement {
    var seconds: Double
    /// Creating the job and uploading its data, within `seconds`; for an export, creating and
    /// running it until `JobComplete`, before the download.
    var uploadSeconds: Double
    /// The server's peak RSS, in bytes.
    var peakRSS: Int
    /// The server's processor time (user and system).
    var cpuSeconds: Double
  }

  /// The job's measurement and the baseline's seconds.
  func run(_ name: String, jobFirst: Bool) async throws -> (job: JobMeasurement, baseline: Double) {
    var job: JobMeasurement?
    var baseline: Double?
    for side in jobFirst ? [true, false] : [false, true] {
      if side {
        job = try await self.job(name)
      } else {
        baseline = try self.baseline(name)
      }
    }
    return (job ?? JobMeasurement(seconds: 0, uploadSeconds: 0, peakRSS: 0, cpuSeconds: 0), baseline ?? 0)
  }

  private func job(_ name: String) async throws -> JobMeasurement {
    let databases = self.databases
    switch name {
    case "insert", "upsert":
      let operation: Spectra_Bulk_V1_Operation = name == "insert" ? .insert : .upsert
      if operation == .insert {
        try databases.psql("TRUNCATE \(BenchDatabases.qualifiedTable)")
      } else {
        try databases.reloadPostgres(from: self.csvFile)
      }
      let folder = try self.freshFolder()
      defer { try? FileManager.default.removeItem(at: folder) }
      let measured = try await self.load(operation, postgres: true, folder: folder)
      try self.expect(try databases.postgresCount(), "rows in PostgreSQL after the \(name) job")
      return measured
    case "export", "export_query":
      try self.ensureLoaded()
      return try await self.export(query: name == "export" ? "" : "SELECT * FROM \(BenchDatabases.table)")
    case "export_grpcio":
      try self.ensureLoaded()
      return try await self.exportByPython()
    default:
      let folder = try self.freshFolder()
      defer { try? FileManager.default.removeItem(at: folder) }
      let file = folder.appendingPathComponent("warehouse/\(BenchDatabases.tenant).sqlite")
      try FileManager.default.createDirectory(
        at: file.deletingLastPathComponent(),
        withIntermediateDirectories: true
      )
      try databases.createSQLite(at: file.path)
      let measured = try await self.load(.insert, postgres: false, folder: folder)
      try self.expect(try databases.sqliteCount(file.path), "rows in SQLite after the insert job")
      return measured
    }
  }

  private func baseline(_ name: String) throws -> Double {
    let databases = self.databases
    switch name {
    case "insert":
      try databases.psql("TRUNCATE \(BenchDatabases.qualifiedTable)")
      let seconds = try Self.time { try databases.psql(BenchDatabases.copyFrom(self.csvFile)) }
      try self.expect(try databases.postgresCount(), #"rows in PostgreSQL after psql \copy"#)
      return seconds
    case "upsert":
      try databases.reloadPostgres(from: self.csvFile)
      let seconds = try Self.time { try databases.psql(BenchDatabases.upsertByHand(self.csvFile)) }
      try self.expect(try databases.postgresCount(), "rows in PostgreSQL after the upsert by hand")
      return seconds
    case "export", "export_query", "export_grpcio":
      try self.ensureLoaded()
      let file = self.scratch.appendingPathComponent("export-psql.csv")
      let seconds = try Self.time { try databases.psql(BenchDatabases.copyTo(file)) }
      try self.expect(try Self.lines(in: file) - 1, #"records written by psql \copy TO"#)
      try? FileManager.default.removeItem(at: file)
      return seconds
    default:
      let path = self.scratch.appendingPathComponent("baseline.sqlite").path
      try databases.createSQLite(at: path, wal: name != "sqlite_insert_rollback")
      let seconds = try Self.time { try databases.importSQLite(self.csvFile, into: path) }
      try self.expect(try databases.sqliteCount(path), "rows in SQLite after sqlite3 .import")
      try? FileManager.default.removeItem(atPath: path)
      return seconds
    }
  }

  /// An insert or upsert job of the whole CSV, timed from create to `JobComplete`.
  private func load(
    _ operation: Spectra_Bulk_V1_Operation,
    postgres: Bool,
    folder: URL
  ) async throws -> JobMeasurement {
    let server = try self.startServer(folder: folder, postgres: postgres)
    defer { server.stop() }
    let (file, size) = (self.csvFile.path, Int64(self.csv.count))
    let timeout = self.timeout
    let (seconds, uploadSeconds, job) = try await server.withClient(token: BenchDatabases.token) { client in
      let start = ContinuousClock.now
      let job = try await client.create(
        .with {
          $0.operation = operation
          $0.object = BenchDatabases.table
          $0.externalIDField = operation == .upsert ? "id" : ""
        }
      )
      try await client.upload(file, size: size, into: job.jobID)
      let uploaded = ContinuousClock.now
      let done = try await Self.withTimeout(timeout) {
        try await client.closeAndFollow(job.jobID, retry: Self.retry, progress: Self.notes)
      }
      return ((ContinuousClock.now - start).inSeconds, (uploaded - start).inSeconds, done)
    }
    guard job.state == .jobComplete, job.numberRecordsFailed == 0, job.numberRecordsProcessed == self.rows else {
      throw ValidationError(
        "the \(operation) job ended \(job.state) with \(job.numberRecordsProcessed) records processed, "
          + "\(job.numberRecordsFailed) failed: \(job.errorMessage)\n\(server.logTail)"
      )
    }
    return JobMeasurement(
      seconds: seconds,
      uploadSeconds: uploadSeconds,
      peakRSS: server.peakRSS,
      cpuSeconds: server.cpuSeconds
    )
  }

  /// A query job of the whole table, timed from create to the last byte of its results: without
  /// a query (`query` empty), the server exports the whole object and reads it on two
  /// connections at once; with one, it runs the statement as written, on one.
  private func export(query: String) async throws -> JobMeasurement {
    let folder = try self.freshFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let server = try self.startServer(folder: folder, postgres: true)
    defer { server.stop() }
    let file = self.scratch.appendingPathComponent("export-job.csv")
    defer { try? FileManager.default.removeItem(at: file) }
    let timeout = self.timeout
    let (seconds, completeSeconds): (Double, Double)
    do {
      (seconds, completeSeconds) = try await server.withClient(token: BenchDatabases.token) { client in
        let start = ContinuousClock.now
        let job = try await client.create(
          .with {
            $0.operation = .query
            $0.object = BenchDatabases.table
            $0.query = query
          }
        )
        let done = try await Self.withTimeout(timeout) {
          try await client.closeAndFollow(job.jobID, retry: Self.retry, progress: Self.notes)
        }
        guard done.state == .jobComplete else {
          throw CaseUnavailable(reason: "the query job ended \(done.state): \(done.errorMessage)")
        }
        let complete = ContinuousClock.now
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        _ = try await client.download(
          job.jobID,
          set: .query,
          format: .csv,
          pageRecords: 0,
          retry: Self.retry,
          progress: Self.notes
        ) { data in
          try handle.write(contentsOf: data)
        }
        return ((ContinuousClock.now - start).inSeconds, (complete - start).inSeconds)
      }
    } catch let error as RPCError {
      throw CaseUnavailable(reason: "the server refused the query job: \(error.code): \(error.message)")
    } catch is JobTimeout {
      throw CaseUnavailable(reason: "the query job did not finish within \(timeout)")
    }
    let records = try Self.lines(in: file) - 1
    guard records > 0 else {
      throw CaseUnavailable(reason: "the query job completed without rows: this server does not run queries")
    }
    try self.expect(records, "records downloaded from the query job")
    return JobMeasurement(
      seconds: seconds,
      uploadSeconds: completeSeconds,
      peakRSS: server.peakRSS,
      cpuSeconds: server.cpuSeconds
    )
  }

  /// The same query job from Python's `grpcio` (`PythonExport`), timed by the child from create
  /// to the last byte of its results.
  private func exportByPython() async throws -> JobMeasurement {
    let folder = try self.freshFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let server = try self.startServer(folder: folder, postgres: true)
    defer { server.stop() }
    let file = self.scratch.appendingPathComponent("export-grpcio.csv")
    defer { try? FileManager.default.removeItem(at: file) }
    let (seconds, completeSeconds, counted) = try await PythonExport.run(
      port: server.grpcPort,
      token: BenchDatabases.token,
      table: BenchDatabases.table,
      file: file
    )
    try self.expect(counted, "records counted by the grpcio pages")
    try self.expect(try Self.lines(in: file) - 1, "records downloaded by grpcio")
    return JobMeasurement(
      seconds: seconds,
      uploadSeconds: completeSeconds,
      peakRSS: server.peakRSS,
      cpuSeconds: server.cpuSeconds
    )
  }

  private func startServer(folder: URL, postgres: Bool) throws -> BenchServer {
    try BenchServer(
      arguments: ["--data-dir", folder.path] + self.flags
        + (postgres ? ["--warehouse", self.databases.postgresURL] : []),
      log: folder.appendingPathComponent("server.log")
    )
  }

  /// Loads the table unless it holds every row already (an export run on its own).
  private func ensureLoaded() throws {
    if try self.databases.postgresCount() != self.rows {
      try self.databases.reloadPostgres(from: self.csvFile)
    }
  }

  private func freshFolder() throws -> URL {
    let folder = self.scratch.appendingPathComponent("server-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
  }

  private func expect(_ count: Int, _ what: String) throws {
    guard count == self.rows else { throw ValidationError("\(count) \(what), expected \(self.rows)") }
  }

  /// The line feeds in a file.
  private static func lines(in file: URL) throws -> Int {
    let data = try Data(contentsOf: file, options: .alwaysMapped)
    return data.withUnsafeBytes { raw in raw.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
  }

  private static func time(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return (ContinuousClock.now - start).inSeconds
  }

  /// `body`'s result, or `JobTimeout` once `timeout` has passed.
  private static func withTimeout<Result: Sendable>(
    _ timeout: Duration,
    _ body: @escaping @Sendable () async throws -> Result
  ) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        try await Task.sleep(for: timeout)
        return nil
      }
      defer { group.cancelAll() }
      guard let first = try await group.next(), let result = first else { throw JobTimeout() }
      return result
    }
  }
}

/// A job that did not finish in the time allowed.
struct JobTimeout: Error {}
