internal import BulkCore
internal import Foundation
internal import Synchronization

/// A query job's statement on PostgreSQL, sandboxed:
///
/// - one statement (the lexical check, then the server's own refusal to prepare two);
/// - a read-only `REPEATABLE READ` transaction that is always rolled back, so every setting the
///   statement changed goes with it;
/// - `statement_timeout` set to the job's timeout, and the caller's deadline sending a cancel
///   request;
/// - `search_path` pinned to the tenant's schema;
/// - above all, the connection is logged in as the tenant's query role (see `PostgresQueryRole`),
///   checked here to read that schema's tables and nothing else, whatever the statement spells.
///
/// Rows come out through `COPY (statement) TO STDOUT`: as CSV, passed on as the server writes it,
/// or in the text format, typed by the columns' types.
///
/// A whole-table read (`QueryRequest.wholeTable`) of a plain table of at least two `rangeBytes`
/// runs on two connections at once when the pool has a second one free. The table's blocks are
/// cut into ranges of `rangeBytes` (`ctid` ranges, which PostgreSQL reads with a TID range scan),
/// and each connection copies the next range not taken until none is left, so a table whose live
/// rows sit in some of its blocks (the new versions of updated rows, at its end) still keeps both
/// busy. Both transactions read one snapshot (exported by the first, imported by the second), so
/// together they read exactly the rows one statement would. The ranges' rows reach the sink
/// interleaved, batch by batch; the statement promised no order.
struct PostgresQuery {
  /// Bytes of CSV (or rows of values) per batch handed to the sink.
  static let batchBytes = 1 << 20
  static let batchRows = 1000

  let statement: String
  let schema: String
  let request: QueryRequest
  let sink: any QueryRowSink
  /// The size of each range of a whole-table read on two connections.
  let rangeBytes: Int64

  /// Runs the statement on `connection`, on a second connection of `spare` too when it reads a
  /// whole table in ranges; blocks the calling thread.
  func run(on connection: PostgresConnection, spare: PostgresConnectionPool?) throws -> Int64 {
    try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    defer { _ = try? connection.execute("ROLLBACK") }
    try self.sandbox(connection)

    let columns = try self.translating { try connection.describe(self.statement) }
    try self.sink.columns(columns.map { QueryColumn(name: $0.name, type: Self.columnType(oid: $0.typeOID)) })
    let types = columns.map { Self.columnType(oid: $0.typeOID) }

    guard let spare, let table = self.request.wholeTable, let ranges = try self.ranges(of: table, on: connection)
    else {
      return try self.copy(self.statement, on: connection, types: types)
    }
    let snapshot = try connection.query("SELECT pg_export_snapshot()")[0][0] ?? ""
    let parts = PartedSink(self.sink)
    let shared = PostgresQuery(statement: self.statement, schema: self.schema, request: self.request, sink: parts, rangeBytes: 0)
    let second = spare.startIfFree { other in
      do {
        return try shared.runRanges(ranges, snapshot: snapshot, on: other, types: types)
      } catch {
        parts.stop()
        throw error
      }
    }
    guard let second else { return try self.copy(self.statement, on: connection, types: types) }
    let first = Result { try shared.copyRanges(ranges, on: connection, types: types) }
    if case .failure = first { parts.stop() }
    let other = Result { try second.wait() }
    switch (first, other) {
    case (.success(let a), .success(let b)): return a + b
    case (.failure(let error), _) where !(error is PartedSink.Stopped): throw error
    case (_, .failure(let error)) where !(error is PartedSink.Stopped): throw error
    case (.failure(let error), _), (_, .failure(let error)): throw error
    }
  }

  /// Pins the transaction's settings and checks the login's fence.
  private func sandbox(_ connection: PostgresConnection) throws {
    _ = try connection.query(
      """
      SELECT set_config('statement_timeout', $1, true), set_config('search_path', $2, true),
        set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
        set_config('IntervalStyle', 'iso_8601', true), set_config('bytea_output', 'hex', true),
        set_config('extra_float_digits', '1', true)
      """,
      [String(max(1, self.request.timeout.inMilliseconds)), Identifier.quoted(self.schema)]
    )
    try PostgresQueryRole.checkFence(schema: self.schema, on: connection)
  }

  /// The block ranges of `table` for a read on two connections, when it is a plain table of at
  /// least two `rangeBytes`; `nil` to read it with one statement.
  private func ranges(of table: String, on connection: PostgresConnection) throws -> BlockRanges? {
    guard self.rangeBytes > 0 else { return nil }
    let rows = try connection.query(
      """
      SELECT c.relkind::text, pg_catalog.pg_relation_size(c.oid), current_setting('block_size')
      FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)
      """,
      [Identifier.quoted(table)]
    )
    guard let row = rows.first, row[0] == "r", let bytes = row[1].flatMap({ Int64($0) }),
      let blockSize = row[2].flatMap({ Int64($0) }), blockSize > 0, bytes >= 2 * self.rangeBytes
    else { return nil }
    return BlockRanges(table: table, blocks: bytes / blockSize, rangeBlocks: max(1, self.rangeBytes / blockSize))
  }

  /// The second connection's share of a whole-table read: ranges in a transaction that imports
  /// the first's `snapshot`, sandboxed as the first.
  private func runRanges(_ ranges: BlockRanges, snapshot: String, on connection: PostgresConnection, types: [ColumnType])
    throws -> Int64
  {
    try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    defer { _ = try? connection.execute("ROLLBACK") }
    try connection.execute("SET TRANSACTION SNAPSHOT \(SQLDialect.literal(snapshot))")
    try self.sandbox(connection)
    return try self.copyRanges(ranges, on: connection, types: types)
  }

  /// Copies the ranges not taken yet, one at a time, until none is left.
  private func copyRanges(_ ranges: BlockRanges, on connection: PostgresConnection, types: [ColumnType]) throws -> Int64 {
    var rows: Int64 = 0
    while let statement = ranges.next() {
      rows += try self.copy(statement, on: connection, types: types)
    }
    return rows
  }

  /// Copies the rows of `statement` to the sink, cancelled with the request.
  private func copy(_ statement: String, on connection: PostgresConnection, types: [ColumnType]) throws -> Int64 {
    let cancel = RepeatedCancel(connection.makeCanceller())
    defer { cancel.stop() }
    return try self.request.whileRunning(onCancel: cancel.start) {
      try self.translating {
        switch self.request.output {
        case .csv(let delimiter):
          try self.copyCSV(statement, on: connection, delimiter: delimiter)
        case .values:
          try self.copyValues(statement, on: connection, types: types)
        }
      }
    }
  }

  private func copyCSV(_ statement: String, on connection: PostgresConnection, delimiter: UInt8) throws -> Int64 {
    var rows: Int64 = 0
    var bytes: [UInt8] = []
    var starts: [Int] = []
    bytes.reserveCapacity(Self.batchBytes + (64 << 10))
    let sql = "COPY (\n\(statement)\n) TO STDOUT WITH (FORMAT csv, DELIMITER \(Self.literal(delimiter)))"
    try connection.copyOut(sql) { row in
      starts.append(bytes.count)
      bytes.append(contentsOf: row)
      if bytes.count >= Self.batchBytes {
        try self.sink.rows(.csv(bytes: bytes, starts: starts))
        rows += Int64(starts.count)
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
      }
    }
    if !starts.isEmpty {
      try self.sink.rows(.csv(bytes: bytes, starts: starts))
      rows += Int64(starts.count)
    }
    return rows
  }

  private func copyValues(_ statement: String, on connection: PostgresConnection, types: [ColumnType]) throws -> Int64 {
    var rows: Int64 = 0
    var batch: [[FieldValue]] = []
    batch.reserveCapacity(Self.batchRows)
    try connection.copyOut("COPY (\n\(statement)\n) TO STDOUT") { row in
      let fields = CopyTextRow.fields(row)
      batch.append(zip(fields, types).map { field, type in field.map { Self.value($0, type: type) } ?? .null })
      if batch.count == Self.batchRows {
        try self.sink.rows(.values(batch))
        rows += Int64(batch.count)
        batch.removeAll(keepingCapacity: true)
      }
    }
    if !batch.isEmpty {
      try self.sink.rows(.values(batch))
      rows += Int64(batch.count)
    }
    return rows
  }

  /// Runs `body`, turning the server's refusals into the job's reasons; a lost connection is
  /// rethrown as it is, to be retried.
  private func translating<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as PostgresError where !error.isConnectionFailure {
      switch error.sqlState {
      case "25006":
        throw BulkError.queryRefused("the query may only read: \(error.message)")
      case "42501":
        throw BulkError.queryRefused("the query may read only the tenant's own tables: \(error.message)")
      case "57014":
        throw BulkError.queryCancelled(self.request.cancellation.reason, timeout: self.request.timeout)
      case "42601" where error.message.contains("multiple commands"):
        throw BulkError.queryRefused("a query job runs a single statement: \(error.message)")
      default:
        throw BulkError.queryRefused("the query failed: \(error.message)" + (error.detail.map { " (\($0))" } ?? ""))
      }
    }
  }

  private static func literal(_ delimiter: UInt8) -> String {
    delimiter == UInt8(ascii: "\t") ? "E'\\t'" : SQLDialect.literal(String(UnicodeScalar(delimiter)))
  }

  /// The family of a type by its OID (built-in types only; others are text).
  static func columnType(oid: UInt32) -> ColumnType {
    switch oid {
    case 16: .boolean
    case 17: .bytes
    case 20, 21, 23, 26: .integer
    case 700, 701: .double
    case 1700: .decimal
    case 1082: .date
    case 1114, 1184: .timestamp
    case 114, 3802: .json
    case 18, 19, 25, 1042, 1043: .text
    default: .other
    }
  }

  /// A field of the text format as a typed value; text when it does not parse (`NaN`,
  /// `infinity`, years BC).
  static func value(_ text: String, type: ColumnType) -> FieldValue {
    switch type {
    case .integer:
      return Int64(text).map(FieldValue.integer) ?? .text(text)
    case .double:
      return Double(text).map(FieldValue.double) ?? .text(text)
    case .decimal:
      return Double(text) != nil && text != "NaN" ? .number(text) : .text(text)
    case .boolean:
      return text == "t" ? .bool(true) : text == "f" ? .bool(false) : .text(text)
    case .bytes:
      // `\x0a1b…`, as `bytea_output = hex` writes it.
      return text.hasPrefix("\\x") ? Hex.bytes(text.dropFirst(2)).map(FieldValue.bytes) ?? .text(text) : .text(text)
    case .timestamp:
      return FieldValue.timestamp(parsing: text).map(FieldValue.timestamp) ?? .text(text)
    case .text, .date, .json, .other:
      return .text(text)
    }
  }
}

/// The fields of one row of `COPY … TO` in the text format: tab-separated, `\N` for NULL,
/// backslash escapes for the backslash, tab, newline and other control characters.
enum CopyTextRow {
  static func fields(_ row: UnsafeRawBufferPointer) -> [String?] {
    var fields: [String?] = []
    var field: [UInt8] = []
    var index = 0
    var end = row.count
    if end > 0 && row[end - 1] == UInt8(ascii: "\n") { end -= 1 }
    var isNull = false
    func finish() {
      fields.append(isNull ? nil : String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
      isNull = false
    }
    while index < end {
      let byte = row[index]
      if byte == UInt8(ascii: "\t") {
        finish()
        index += 1
        continue
      }
      guard byte == UInt8(ascii: "\\"), index + 1 < end else {
        field.append(byte)
        index += 1
        continue
      }
      let escaped = row[index + 1]
      index += 2
      switch escaped {
      case UInt8(ascii: "N") where field.isEmpty: isNull = true
      case UInt8(ascii: "b"): field.append(0x08)
      case UInt8(ascii: "f"): field.append(0x0C)
      case UInt8(ascii: "n"): field.append(0x0A)
      case UInt8(ascii: "r"): field.append(0x0D)
      case UInt8(ascii: "t"): field.append(0x09)
      case UInt8(ascii: "v"): field.append(0x0B)
      case UInt8(ascii: "0") ... UInt8(ascii: "7"):
        var value = Int(escaped - UInt8(ascii: "0"))
        var digits = 1
        while digits < 3, index < end, row[index] >= UInt8(ascii: "0"), row[index] <= UInt8(ascii: "7") {
          value = value * 8 + Int(row[index] - UInt8(ascii: "0"))
          index += 1
          digits += 1
        }
        field.append(UInt8(truncatingIfNeeded: value))
      default: field.append(escaped)
      }
    }
    finish()
    return fields
  }
}

/// A table's blocks cut into ranges, handed out one at a time to the connections that read them
/// as the statement of each. The last range is open-ended, so that what is read does not depend
/// on the size read: a block added since holds no row of the snapshot, and is read all the same.
private final class BlockRanges: Sendable {
  private let table: String
  private let blocks: Int64
  private let rangeBlocks: Int64
  private let taken = Atomic<Int64>(0)

  init(table: String, blocks: Int64, rangeBlocks: Int64) {
    self.table = table
    self.blocks = blocks
    self.rangeBlocks = rangeBlocks
  }

  /// The statement of the next range, `nil` when every range is taken.
  func next() -> String? {
    let index = self.taken.add(1, ordering: .relaxed).oldValue
    let start = index * self.rangeBlocks
    guard start < self.blocks else { return nil }
    let end = start + self.rangeBlocks
    var bounds = start > 0 ? ["ctid >= '(\(start),0)'::tid"] : []
    if end < self.blocks { bounds.append("ctid < '(\(end),0)'::tid") }
    let whole = "SELECT * FROM \(Identifier.quoted(self.table))"
    return bounds.isEmpty ? whole : "\(whole) WHERE \(bounds.joined(separator: " AND "))"
  }
}

/// The sink of a query read on two connections: once one has failed, the other's next batch stops
/// it.
private final class PartedSink: QueryRowSink {
  /// Thrown into the read of one connection when the other's failed; that failure is the query's.
  struct Stopped: Error {}

  private let sink: any QueryRowSink
  private let stopped = Atomic(false)

  init(_ sink: any QueryRowSink) {
    self.sink = sink
  }

  /// One connection's read failed: the other stops at its next batch.
  func stop() {
    self.stopped.store(true, ordering: .releasing)
  }

  func columns(_ columns: [QueryColumn]) throws {
    try self.sink.columns(columns)
  }

  func rows(_ batch: QueryRows) throws {
    guard !self.stopped.load(ordering: .acquiring) else { throw Stopped() }
    try self.sink.rows(batch)
  }
}

/// Sends cancel requests for a running statement every 50 ms until it ends: a request that
/// reaches the server before the statement has started is ignored there, so one is not enough.
package final class RepeatedCancel: Sendable {
  private let canceller: PostgresCanceller?
  private let stopped = Atomic(false)

  /// Cancels through `canceller` once started.
  package init(_ canceller: PostgresCanceller?) {
    self.canceller = canceller
  }

  /// Starts sending, on a thread of Dispatch's, until `stop`.
  @Sendable package func start() {
    DispatchQueue.global().async {
      while !self.stopped.load(ordering: .acquiring) {
        self.canceller?.cancel()
        Thread.sleep(forTimeInterval: 0.05)
      }
    }
  }

  /// The statement ended: send no more.
  package func stop() {
    self.stopped.store(true, ordering: .releasing)
  }
}
