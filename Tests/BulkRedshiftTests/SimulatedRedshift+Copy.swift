import BulkFormats
import BulkPostgres
import BulkRedshift
import BulkS3
import Foundation
import NIOCore

extension SimulatedRedshift {
  /// Does what Redshift's `COPY … MANIFEST CSV GZIP NULL AS '\N' MAXERROR n` does: reads the
  /// manifest and each object it lists from S3, inflates it, and loads its CSV rows into the
  /// staging table (`\N` unquoted is NULL). A row PostgreSQL refuses is rejected, as Redshift
  /// rejects it, with the object's URL, the row's first line, the column whose value does not fit
  /// (each value tried as its column's type) and Redshift's load error code for the reason; more
  /// than `maxErrors` rejections fail the statement, as Redshift's do.
  func simulateCopy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
    let (s3, bucket, manifestKey) = (self.s3, copy.manifestBucket, copy.manifestKey)
    let manifest = try blocking { try await s3.getObject(bucket: bucket, key: manifestKey).body }
    let urls = try Self.manifestURLs(Data(manifest.readableBytesView))
    let types = try Self.stagingTypes(copy, on: connection)
    let sql = "COPY \(copy.table) (\(copy.columns.joined(separator: ", "))) FROM STDIN (FORMAT csv, NULL '\\N')"
    var rejections: [RedshiftLoadRejection] = []
    try connection.execute("BEGIN")
    do {
      for url in urls {
        guard url.hasPrefix("s3://\(bucket)/") else { throw PostgresError(message: "the manifest names \(url), outside the bucket") }
        let key = String(url.dropFirst("s3://\(bucket)/".count))
        let compressed = try blocking { try await s3.getObject(bucket: bucket, key: key).body }
        var csv: [UInt8] = []
        try GzipInflater().inflate(compressed) { piece in csv.append(contentsOf: piece.readableBytesView) }
        if try Self.attempt({ try connection.copy(sql, from: csv[...]) }, on: connection) == nil { continue }
        // Redshift rejects rows one by one: find them.
        for (line, row) in Self.rows(csv) {
          guard try Self.attempt({ try connection.copy(sql, from: row) }, on: connection) != nil else { continue }
          rejections.append(try Self.rejection(row, file: url, line: line, copy: copy, types: types, on: connection))
        }
      }
      guard rejections.count <= copy.maxErrors else {
        throw PostgresError(message: "Load into table '_spectra_staging' failed. Check 'sys_load_error_detail' system table for details.")
      }
      try connection.execute("COMMIT")
    } catch {
      if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
      throw error
    }
    return rejections
  }

  /// The `url` of each manifest entry, in order.
  private static func manifestURLs(_ data: Data) throws -> [String] {
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let entries = object["entries"] as? [[String: Any]]
    else { throw PostgresError(message: "the manifest is not {\"entries\": [...]}") }
    return try entries.map { entry in
      guard let url = entry["url"] as? String, entry["mandatory"] as? Bool == true else {
        throw PostgresError(message: "a manifest entry has no url or is not mandatory: \(entry)")
      }
      return url
    }
  }

  /// The declared type of each staging column, by name.
  private static func stagingTypes(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [String: String] {
    var types: [String: String] = [:]
    for row in try connection.query(
      "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0",
      [copy.table]
    ) {
      if let name = row[0], let type = row[1] { types[name] = type }
    }
    return types
  }

  /// The CSV rows of `csv` with the 1-based line each starts on (a quoted field may hold line
  /// feeds).
  private static func rows(_ csv: [UInt8]) -> [(Int64, ArraySlice<UInt8>)] {
    var rows: [(Int64, ArraySlice<UInt8>)] = []
    var start = 0
    var line: Int64 = 1
    var startLine: Int64 = 1
    var quoted = false
    for (index, byte) in csv.enumerated() {
      if byte == UInt8(ascii: "\"") { quoted.toggle() }
      guard byte == UInt8(ascii: "\n") else { continue }
      line += 1
      guard !quoted else { continue }
      rows.append((startLine, csv[start ... index]))
      start = index + 1
      startLine = line
    }
    if start < csv.count { rows.append((startLine, csv[start...])) }
    return rows
  }

  /// Why PostgreSQL refused `row`: the first value its column's type does not take, with the
  /// code Redshift gives that reason.
  private static func rejection(
    _ row: ArraySlice<UInt8>,
    file: String,
    line: Int64,
    copy: RedshiftCopy,
    types: [String: String],
    on connection: PostgresConnection
  ) throws -> RedshiftLoadRejection {
    let fields = Self.fields(row)
    for (column, field) in zip(copy.columns, fields) {
      guard column != "_n", let field, types[column] != nil else { continue }
      // The value alone, as COPY assigns it (an explicit CAST would cut a long text short).
      let quoted = "0,\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"\n"
      let single = "COPY \(copy.table) (_n, \(column)) FROM STDIN (FORMAT csv)"
      if let error = try Self.attempt({ try connection.copy(single, from: Array(quoted.utf8)[...]) }, keeping: false, on: connection) {
        let code =
          switch error.sqlState {
          case "22001": 1204  // String length exceeds DDL length.
          case "22P02", "22003": 1207  // Invalid digit / numeric overflow.
          case "22007", "22008": 1206  // Invalid timestamp or date.
          default: 1216  // Invalid input line.
          }
        return RedshiftLoadRejection(file: file, line: line, column: column, code: code, message: error.message)
      }
    }
    return RedshiftLoadRejection(file: file, line: line, column: "", code: 1214, message: "Delimiter not found")
  }

  /// The fields of one CSV row: `nil` for an unquoted `\N`, quotes removed and undoubled.
  private static func fields(_ row: ArraySlice<UInt8>) -> [String?] {
    var fields: [String?] = []
    var field: [UInt8] = []
    var quoted = false
    var wasQuoted = false
    var index = row.startIndex
    func finish() {
      let text = String(decoding: field, as: UTF8.self)
      fields.append(!wasQuoted && text == "\\N" ? nil : text)
      field = []
      wasQuoted = false
    }
    while index < row.endIndex {
      let byte = row[index]
      if quoted {
        if byte == UInt8(ascii: "\"") {
          if index + 1 < row.endIndex, row[index + 1] == UInt8(ascii: "\"") {
            field.append(byte)
            index += 1
          } else {
            quoted = false
          }
        } else {
          field.append(byte)
        }
      } else if byte == UInt8(ascii: "\"") {
        quoted = true
        wasQuoted = true
      } else if byte == UInt8(ascii: ",") {
        finish()
      } else if byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\r") {
        field.append(byte)
      }
      index += 1
    }
    finish()
    return fields
  }

  /// Runs `body` under a savepoint; returns the database's error after rolling back to it. A
  /// probe (`keeping: false`) is rolled back when it succeeds too.
  private static func attempt(_ body: () throws -> Void, keeping: Bool = true, on connection: PostgresConnection) throws -> PostgresError? {
    try connection.execute("SAVEPOINT simulated_copy")
    do {
      try body()
      if !keeping { try connection.execute("ROLLBACK TO SAVEPOINT simulated_copy") }
      try connection.execute("RELEASE SAVEPOINT simulated_copy")
      return nil
    } catch let error as PostgresError where !error.isConnectionFailure {
      try connection.execute("ROLLBACK TO SAVEPOINT simulated_copy")
      try connection.execute("RELEASE SAVEPOINT simulated_copy")
      return error
    }
  }
}
