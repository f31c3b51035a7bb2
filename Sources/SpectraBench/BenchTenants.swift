internal import BulkCore
internal import BulkSQLite
internal import Foundation
internal import NIOCore

/// The tenants of `spectra-bench fleet` and `load`, served by the embedded SQLite warehouse: each
/// has the token `token-<id>` and a table `payments` with the columns of `SampleCSV` and no key,
/// so that jobs may load the same ids again.
enum BenchTenants {
  /// The table every job loads.
  static let table = "payments"

  /// The token of tenant `id`.
  static func token(_ id: String) -> String { "token-\(id)" }

  /// Writes the tenants file for `ids` into `folder` and creates their warehouse files with the
  /// table in `dataDirectory`; returns the tenants file.
  static func prepare(_ ids: [String], folder: URL, dataDirectory: URL) throws -> URL {
    let warehouse = dataDirectory.appendingPathComponent("warehouse")
    try FileManager.default.createDirectory(at: warehouse, withIntermediateDirectories: true)
    for id in ids {
      let connection = try SQLiteConnection(
        path: warehouse.appendingPathComponent(Tenant(id: id).warehouseFileName).path
      )
      try connection.execute("PRAGMA journal_mode = WAL")
      try connection.execute(
        "CREATE TABLE \(Self.table) (id INTEGER, name TEXT, email TEXT, created_at TEXT, amount NUMERIC)"
      )
    }
    let tenants = ids.map { #"{"id": "\#($0)", "tokens": ["\#(Self.token($0))"], "schema": "\#($0)"}"# }
    let file = folder.appendingPathComponent("tenants.json")
    try Data(#"{"tenants": [\#(tenants.joined(separator: ", "))]}"#.utf8).write(to: file)
    return file
  }

  /// Writes `rows` records of `SampleCSV` to `folder`; returns the file and its size.
  static func csv(rows: Int, folder: URL) throws -> (path: String, size: Int64) {
    let buffer = SampleCSV.make(rows: rows)
    let file = folder.appendingPathComponent("rows-\(rows).csv")
    try Data(buffer.readableBytesView).write(to: file)
    return (file.path, Int64(buffer.readableBytes))
  }
}
