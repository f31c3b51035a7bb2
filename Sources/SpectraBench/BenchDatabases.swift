internal import ArgumentParser
internal import BulkTestSupport
internal import Foundation

/// The databases of `spectra-bench compare` and the baseline tools run against them: a
/// throw-away PostgreSQL cluster with the tenant schema `bench`, and SQLite files driven by the
/// `sqlite3` shell.
///
/// Both hold the table `payments (id, name, email, created_at, amount)` with `id` as its primary
/// key, the columns of `SampleCSV`.
struct BenchDatabases: Sendable {
  /// The tenant the server serves: its id, token and PostgreSQL schema.
  static let tenant = "bench"
  static let token = "bench-token"
  /// The table every case loads.
  static let table = "payments"

  let cluster: PostgresCluster
  /// The `sqlite3` shell.
  let sqlite3: String

  /// Starts PostgreSQL and creates the schema and table there; finds `sqlite3`.
  static func start() async throws -> BenchDatabases {
    let sqlite3 = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let sqlite3 else { throw ValidationError("sqlite3 is not installed (apt-get install sqlite3)") }
    let cluster = try await PostgresCluster.launch()
    try cluster.psql(
      """
      CREATE SCHEMA \(Self.tenant);
      CREATE TABLE \(Self.qualifiedTable) (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL,
        created_at timestamp with time zone NOT NULL, amount numeric(12,2) NOT NULL);
      """
    )
    return BenchDatabases(cluster: cluster, sqlite3: sqlite3)
  }

  /// `bench.payments`.
  static var qualifiedTable: String { "\(Self.tenant).\(Self.table)" }

  /// The warehouse URL for the server.
  var postgresURL: String { self.cluster.url() }

  /// The tenants file's contents: one tenant whose token is given in plain (the server warns).
  static var tenantsFile: String {
    #"{"tenants": [{"id": "\#(Self.tenant)", "tokens": ["\#(Self.token)"], "schema": "\#(Self.tenant)"}]}"#
  }

  /// Runs `sql` with `psql`; what it printed.
  @discardableResult
  func psql(_ sql: String) throws -> String {
    try self.cluster.psql(sql)
  }

  /// The rows of the PostgreSQL table.
  func postgresCount() throws -> Int {
    Int(try self.psql("SELECT count(*) FROM \(Self.qualifiedTable)").trimmingCharacters(in: .whitespacesAndNewlines))
      ?? -1
  }

  /// Empties the PostgreSQL table and loads `csv` into it with `psql \copy`, then vacuums it, so
  /// that every upsert round starts from the same table.
  func reloadPostgres(from csv: URL) throws {
    try self.psql("TRUNCATE \(Self.qualifiedTable)")
    try self.psql(Self.copyFrom(csv))
    try self.psql("VACUUM ANALYZE \(Self.qualifiedTable)")
  }

  /// The `\copy` of `csv` into the table.
  static func copyFrom(_ csv: URL) -> String {
    #"\copy \#(Self.qualifiedTable) FROM '\#(csv.path)' WITH (FORMAT csv, HEADER true)"#
  }

  /// The same work as an upsert job, by hand: `\copy` into a temporary table, then
  /// `INSERT … ON CONFLICT (id) DO UPDATE`, in one transaction.
  static func upsertByHand(_ csv: URL) -> String {
    let updates = ["name", "email", "created_at", "amount"].map { "\($0) = EXCLUDED.\($0)" }
    return """
      BEGIN;
      CREATE TEMPORARY TABLE staging (LIKE \(Self.qualifiedTable)) ON COMMIT DROP;
      \\copy staging FROM '\(csv.path)' WITH (FORMAT csv, HEADER true)
      INSERT INTO \(Self.qualifiedTable) SELECT * FROM staging
        ON CONFLICT (id) DO UPDATE SET \(updates.joined(separator: ", "));
      COMMIT;
      """
  }

  /// The `\copy (SELECT …) TO` of the table into `file` as CSV with a header.
  static func copyTo(_ file: URL) -> String {
    #"\copy (SELECT * FROM \#(Self.qualifiedTable)) TO '\#(file.path)' WITH (FORMAT csv, HEADER true)"#
  }

  /// Creates a SQLite file at `path` (replacing one there) holding the empty table.
  ///
  /// With `wal`, the file is in WAL mode, as the server keeps every tenant's file (so that query
  /// jobs read while loads write), and `sqlite3 .import` loads the same kind of file the job
  /// does; without, in SQLite's default rollback journal, where it writes each new page once
  /// instead of twice (to the WAL, then into the file).
  func createSQLite(at path: String, wal: Bool = true) throws {
    try? FileManager.default.removeItem(atPath: path)
    try self.sqlite(
      path,
      """
      PRAGMA journal_mode = \(wal ? "WAL" : "DELETE");
      CREATE TABLE \(Self.table) (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
        created_at TEXT NOT NULL, amount NUMERIC NOT NULL)
      """
    )
  }

  /// Loads `csv` into the SQLite file's table with `sqlite3 .import`.
  func importSQLite(_ csv: URL, into path: String) throws {
    try self.sqlite(path, ".import --csv --skip 1 '\(csv.path)' \(Self.table)")
  }

  /// The rows of the SQLite file's table.
  func sqliteCount(_ path: String) throws -> Int {
    Int(try self.sqlite(path, "SELECT count(*) FROM \(Self.table)").trimmingCharacters(in: .whitespacesAndNewlines))
      ?? -1
  }

  /// Runs one `sqlite3` command on the file at `path`; what it printed.
  @discardableResult
  func sqlite(_ path: String, _ command: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: self.sqlite3)
    process.arguments = ["-bail", path, command]
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    let complaint = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, complaint.isEmpty else {
      throw ValidationError(
        "sqlite3 \(command.prefix(80)) failed (status \(process.terminationStatus)): "
          + String(decoding: complaint, as: UTF8.self)
      )
    }
    return String(decoding: printed, as: UTF8.self)
  }

  /// Stops PostgreSQL and removes its folder.
  func remove() {
    self.cluster.remove()
  }
}
