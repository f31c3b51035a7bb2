internal import BulkCore
internal import BulkPostgres
internal import Foundation

/// Loads one staged chunk on one connection and works out each record's outcome.
///
/// Redshift has no savepoints, so a bad record cannot be isolated by trying again without it
/// inside the transaction, as PostgreSQL's loader does. Instead every way a record can fail is
/// found before the one statement that applies the chunk:
///
/// 1. `COPY` into a staging table typed like the target rejects, record by record, a value its
///    column cannot hold (not a number, too long, a bad date), read back from the load-error
///    views: `INVALID_VALUE` or `VALUE_TOO_LONG`.
/// 2. `NULL` in a `NOT NULL` column (which Redshift enforces): `NOT_NULL`; and, for insert and
///    upsert, a `NOT NULL` column without a default that the job leaves out fails every record.
/// 3. A key staged twice (update, upsert): `DUPLICATE_KEY` for each record after the first, since
///    `MERGE` and `UPDATE … FROM` cannot apply one key twice; a repeated delete is `NOT_FOUND`.
/// 4. Under the ledger's lock: update and delete records whose key the table lacks are
///    `NOT_FOUND`; upserts are created or updated as the key was found.
///
/// The staging table is filled and checked outside the transaction (it is the session's own);
/// the transaction locks the ledger, checks that no other attempt committed the chunk, applies
/// the staging table, writes the ledger rows and commits.
struct RedshiftChunkLoad: Sendable {
  let work: ChunkWork
  let shape: ChunkShape
  let ledger: LedgerStatements
  let statements: any RedshiftS3Statements

  private var sql: RedshiftChunkStatements { RedshiftChunkStatements(shape: self.shape) }

  /// The chunk's stored outcomes when it committed before, else `nil`.
  private func committedOutcomes(on connection: PostgresConnection) throws -> [RecordOutcome]? {
    let rows = try connection.query(self.ledger.chunkOutcomes, [self.work.jobID, String(self.work.chunk)])
    guard !rows.isEmpty else { return nil }
    let hex = rows.map { $0[0] ?? "" }.joined()
    guard let bytes = Hex.bytes(hex), let outcomes = RecordOutcome.fromLedgerBytes(bytes) else {
      throw PostgresError(message: "the ledger rows of chunk \(self.work.chunk) of job \(self.work.jobID) cannot be read")
    }
    return outcomes
  }

  /// Loads and applies `staged`, as the type's description says; blocks the calling thread.
  func run(_ staged: RedshiftStagedChunk, bucket: String, copyAccess: String, on connection: PostgresConnection) throws -> [RecordOutcome] {
    var outcomes = [RecordOutcome?](repeating: nil, count: self.work.records.count)
    let sql = self.sql
    try connection.execute(sql.dropStaging)
    try connection.execute(sql.createStaging)
    defer { if connection.isHealthy, !connection.isInTransaction { _ = try? connection.execute(sql.dropStaging) } }

    let maxErrors = min(max(1, self.work.records.count), 100_000)
    let copy = RedshiftCopy(
      sql: sql.copyIntoStaging(manifestURL: "s3://\(bucket)/\(staged.manifestKey)", access: copyAccess, maxErrors: maxErrors),
      table: RedshiftChunkStatements.staging,
      columns: sql.stagedColumns,
      manifestBucket: bucket,
      manifestKey: staged.manifestKey,
      objectPrefix: "s3://\(bucket)/\(staged.folder)",
      maxErrors: maxErrors
    )
    for rejection in try self.statements.copy(copy, on: connection) {
      guard let position = staged.position(objectURL: rejection.file, line: rejection.line, bucket: bucket),
        outcomes.indices.contains(position), outcomes[position] == nil
      else { continue }
      outcomes[position] = .failed(code: rejection.code == 1204 ? "VALUE_TOO_LONG" : "INVALID_VALUE", message: self.reason(rejection))
    }
    try self.checkNulls(&outcomes, on: connection)
    try self.checkRepeatedKeys(&outcomes, on: connection)
    try self.remove(outcomes.indices.filter { outcomes[$0] != nil }, on: connection)

    try connection.execute("BEGIN")
    do {
      try connection.execute(self.ledger.claimChunk)
      if let stored = try self.committedOutcomes(on: connection) {
        try connection.execute("ROLLBACK")
        return stored
      }
      try self.settleMatches(&outcomes, on: connection)
      // Records still staged are the ones the statement applies; it runs when there are any.
      if outcomes.contains(where: { if case .succeeded = $0 { true } else { false } }) {
        try connection.execute(sql.apply)
      }
      let settled = outcomes.map { $0 ?? .failed(code: "DATABASE_ERROR", message: "the record was not applied") }
      try self.record(settled, on: connection)
      try connection.execute("COMMIT")
      return settled
    } catch {
      if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
      throw error
    }
  }

  /// Fails the records with `NULL` in a `NOT NULL` column, or every record when a `NOT NULL`
  /// column without a default is left out of an insert or upsert.
  private func checkNulls(_ outcomes: inout [RecordOutcome?], on connection: PostgresConnection) throws {
    guard self.work.operation != .delete else { return }
    if self.work.operation != .update,
      let missing = self.work.table.columns.first(where: { !$0.nullable && !$0.hasDefault && !self.shape.columns.contains($0.name) })
    {
      for position in outcomes.indices where outcomes[position] == nil {
        outcomes[position] = .failed(code: "NOT_NULL", message: "column '\(missing.name)' may not be null, and the job has no value for it")
      }
      return
    }
    for (index, name) in self.shape.columns.enumerated() {
      guard let column = self.work.table.column(named: name), !column.nullable else { continue }
      for row in try connection.query(self.sql.nullRecords(column: index)) {
        guard let position = row[0].flatMap({ Int($0) }), outcomes.indices.contains(position), outcomes[position] == nil else { continue }
        outcomes[position] = .failed(code: "NOT_NULL", message: "column '\(name)' may not be null")
      }
    }
  }

  /// Fails each staged record whose key an earlier one of the chunk has.
  private func checkRepeatedKeys(_ outcomes: inout [RecordOutcome?], on connection: PostgresConnection) throws {
    guard let query = self.sql.repeatedKeys else { return }
    for row in try connection.query(query) {
      guard let position = row[0].flatMap({ Int($0) }), let first = row[1].flatMap({ Int($0) }),
        outcomes.indices.contains(position), outcomes[position] == nil, self.work.records.indices.contains(first)
      else { continue }
      let key = "\(self.work.keyColumn) = \(self.keyValue(position).displayText)"
      let earlier = self.work.records[first].number
      outcomes[position] =
        self.work.operation == .delete
        ? .failed(code: "NOT_FOUND", message: "no row with \(key): record \(earlier) deletes it")
        : .failed(
          code: "DUPLICATE_KEY",
          message: "\(key) is also in record \(earlier) of the same chunk; Redshift cannot apply one key twice in one statement"
        )
    }
  }

  /// Under the ledger's lock: which staged keys the table holds decides the outcome of each
  /// record left; update and delete records it lacks are `NOT_FOUND` and leave the staging table.
  private func settleMatches(_ outcomes: inout [RecordOutcome?], on connection: PostgresConnection) throws {
    guard let query = self.sql.matchedRecords else {
      for position in outcomes.indices where outcomes[position] == nil { outcomes[position] = .succeeded(created: true) }
      return
    }
    var matched = Set<Int>()
    for row in try connection.query(query) {
      if let position = row[0].flatMap({ Int($0) }) { matched.insert(position) }
    }
    var missing: [Int] = []
    for position in outcomes.indices where outcomes[position] == nil {
      switch self.work.operation {
      case .upsert:
        outcomes[position] = .succeeded(created: !matched.contains(position))
      default:
        if matched.contains(position) {
          outcomes[position] = .succeeded(created: false)
        } else {
          outcomes[position] = .failed(code: "NOT_FOUND", message: "no row with \(self.work.keyColumn) = \(self.keyValue(position).displayText)")
          missing.append(position)
        }
      }
    }
    try self.remove(missing, on: connection)
  }

  /// Deletes the records at `positions` from the staging table, a thousand at a time.
  private func remove(_ positions: [Int], on connection: PostgresConnection) throws {
    var start = 0
    while start < positions.count {
      let end = min(start + 1000, positions.count)
      try connection.execute(self.sql.removeRecords(positions[start ..< end]))
      start = end
    }
  }

  /// Writes the chunk's ledger rows: its outcomes as hex, in pieces that fit a `VARCHAR`.
  private func record(_ outcomes: [RecordOutcome], on connection: PostgresConnection) throws {
    let hex = Hex.string(RecordOutcome.ledgerBytes(outcomes))
    var stamp: [UInt8] = []
    RedshiftChunkStager.appendTimestamp(Date(), to: &stamp)
    let now = String(decoding: stamp, as: UTF8.self)
    var piece = 0
    var start = hex.startIndex
    repeat {
      let end = hex.index(start, offsetBy: LedgerStatements.redshiftPieceLength, limitedBy: hex.endIndex) ?? hex.endIndex
      try connection.execute(
        self.ledger.recordChunk,
        [self.work.jobID, String(self.work.chunk), String(piece), String(hex[start ..< end]), now]
      )
      piece += 1
      start = end
    } while start < hex.endIndex
  }

  /// A rejection's reason, naming the job's column rather than the staging table's.
  private func reason(_ rejection: RedshiftLoadRejection) -> String {
    let staged = rejection.column.trimmingCharacters(in: .whitespaces)
    let column = self.shape.columns.indices.first { ChunkShape.stagingColumn($0) == staged }.map { self.shape.columns[$0] }
    let message = rejection.message.trimmingCharacters(in: .whitespaces)
    return column.map { "column '\($0)': \(message)" } ?? message
  }

  private func keyValue(_ position: Int) -> FieldValue {
    guard let keyIndex = self.shape.keyIndex else { return .null }
    let values = self.work.records[position].values
    return keyIndex < values.count ? values[keyIndex] : .null
  }
}
