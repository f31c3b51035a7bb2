import BulkFormats
import BulkPostgres
import BulkRedshift
import BulkS3
import Foundation
import NIOCore

extension SimulatedRedshift {
  /// The parts a simulated `UNLOAD` writes at most; fewer rows make fewer.
  static let unloadParts = 3

  /// Does what Redshift's `UNLOAD` does, from the statement's text on:
  ///
  /// - reads the statement out of `unload.sql`'s string literal exactly as Redshift reads a
  ///   literal (`''` and `\'` are a quote, `\\` a backslash, `\n` and its kin control
  ///   characters), and the `TO` location after it, and fails unless they are
  ///   `unload.statement` and the unload's destination: a quote or backslash of the tenant's
  ///   that escaped the literal shows here;
  /// - refuses a trailing `LIMIT n` of the outer select, as Redshift refuses any;
  /// - runs the statement on `connection` (the tenant's query login, so its privileges apply)
  ///   as `COPY (…) TO STDOUT` in CSV with the unload's delimiter;
  /// - writes the rows, in order, as up to `unloadParts` gzip parts
  ///   (`<destination>0000_part_00.gz`, …; one empty object for no rows) and a manifest with
  ///   each part's size and rows.
  func simulateUnload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
    var rest = Substring(unload.sql)
    guard rest.hasPrefix("UNLOAD (") else { throw PostgresError(message: "not an UNLOAD: \(unload.sql.prefix(60))") }
    rest = rest.dropFirst("UNLOAD (".count)
    let statement = try Self.readLiteral(&rest)
    guard statement == unload.statement else {
      throw PostgresError(message: "the UNLOAD's literal reads as «\(statement)», not «\(unload.statement)»")
    }
    guard rest.hasPrefix(") TO ") else {
      throw PostgresError(sqlState: "42601", message: "syntax error at or near \(rest.prefix(20))")
    }
    rest = rest.dropFirst(") TO ".count)
    let location = try Self.readLiteral(&rest)
    guard location == "s3://\(unload.bucket)/\(unload.destination)" else {
      throw PostgresError(message: "the UNLOAD writes to \(location), not to its destination")
    }
    for option in ["FORMAT AS CSV", "GZIP", "PARALLEL ON", "MANIFEST VERBOSE", "ALLOWOVERWRITE"]
    where !rest.contains(option) {
      throw PostgresError(message: "the UNLOAD lacks \(option)")
    }
    if statement.range(of: #"(?i)\blimit\s+\d+\s*$"#, options: .regularExpression) != nil {
      throw PostgresError(sqlState: "0A000", message: "Limit clause is not supported: \(statement)")
    }

    let delimiter =
      unload.delimiter == UInt8(ascii: "\t")
      ? "E'\\t'" : "'" + String(UnicodeScalar(unload.delimiter)).replacingOccurrences(of: "'", with: "''") + "'"
    var rows: [[UInt8]] = []
    try connection.copyOut("COPY (\n\(statement)\n) TO STDOUT WITH (FORMAT csv, DELIMITER \(delimiter))") {
      rows.append(Array($0))
    }

    let perPart = max(1, (rows.count + Self.unloadParts - 1) / Self.unloadParts)
    let groups =
      rows.isEmpty
      ? [[]] : stride(from: 0, to: rows.count, by: perPart).map { Array(rows[$0 ..< min(rows.count, $0 + perPart)]) }
    var entries: [String] = []
    for (index, group) in groups.enumerated() {
      let key = unload.destination + String(format: "%04d_part_00.gz", index)
      let body = group.isEmpty ? [] : try GzipDeflater.compress(Array(group.joined()))
      _ = try blocking {
        try await self.s3.putObject(bucket: unload.bucket, key: key, body: ByteBuffer(bytes: body))
      }
      entries.append(
        #"{"url":"s3://\#(unload.bucket)/\#(key)","meta":{"content_length":\#(body.count),"record_count":\#(group.count)}}"#
      )
    }
    let manifest = #"{"entries":[\#(entries.joined(separator: ","))],"meta":{"record_count":\#(rows.count)}}"#
    _ = try blocking {
      try await self.s3.putObject(bucket: unload.bucket, key: unload.manifestKey, body: ByteBuffer(string: manifest))
    }
  }

  /// Reads a string literal at the start of `text` as Redshift does, byte by byte, and moves
  /// `text` past it.
  static func readLiteral(_ text: inout Substring) throws -> String {
    let bytes = Array(text.utf8)
    guard bytes.first == UInt8(ascii: "'") else {
      throw PostgresError(sqlState: "42601", message: "syntax error at or near \(text.prefix(20))")
    }
    let controls: [UInt8: UInt8] = [
      UInt8(ascii: "n"): 0x0A, UInt8(ascii: "t"): 0x09, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "b"): 0x08,
      UInt8(ascii: "f"): 0x0C,
    ]
    var value: [UInt8] = []
    var index = 1
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "'") {
        guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") else {
          text = Substring(String(decoding: bytes[(index + 1)...], as: UTF8.self))
          return String(decoding: value, as: UTF8.self)
        }
        value.append(byte)
        index += 2
      } else if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
        value.append(controls[bytes[index + 1]] ?? bytes[index + 1])
        index += 2
      } else {
        value.append(byte)
        index += 1
      }
    }
    throw PostgresError(sqlState: "42601", message: "unterminated quoted string")
  }
}
