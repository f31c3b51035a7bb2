internal import BulkCore

/// Loads one chunk's records on one connection, inside the caller's open transaction, and works
/// out each record's outcome.
///
/// The fast path loads the whole chunk with one `COPY` (insert) or one set-based statement over a
/// staging table. When the database refuses a batch for a reason one record can cause
/// (`PostgresError.isRecordError`), the batch is rolled back to a savepoint and split in halves,
/// each tried under its own savepoint, until every bad record stands alone and is reported with
/// the database's reason; the good ones still load. Halves are applied in record order, so a
/// record that fails only because of an earlier one (a duplicate key within the chunk) is the
/// one reported. Any other error (the connection lost, the table gone) is thrown.
struct PostgresChunkLoader {
  let connection: PostgresConnection
  let work: ChunkWork
  let statements: PostgresChunkStatements
  /// One slot per record, filled as outcomes become known.
  private var outcomes: [RecordOutcome?]

  init(connection: PostgresConnection, work: ChunkWork, statements: PostgresChunkStatements) {
    self.connection = connection
    self.work = work
    self.statements = statements
    self.outcomes = Array(repeating: nil, count: work.csv?.count ?? work.records.count)
  }

  /// Applies the records and returns their outcomes, in order.
  mutating func load() throws -> [RecordOutcome] {
    let count = self.work.csv?.count ?? self.work.records.count
    guard count > 0 else { return [] }
    if let csv = self.work.csv {
      if self.work.operation == .insert {
        try self.copy(csv, self.statements.copyCSVIntoTarget(delimiter: csv.delimiter))
        return Array(repeating: .succeeded(created: true), count: count)
      }
      try self.connection.execute(self.statements.createStaging(numbering: true))
      try self.copy(csv, self.statements.copyCSVIntoStaging(delimiter: csv.delimiter))
    } else {
      if self.work.operation == .insert {
        let rows = CopyRows(records: self.work.records, numbered: false)
        let copy = self.statements.copyIntoTarget
        if try self.attempt({ try $0.copy(copy, from: rows[0 ..< count]) }) == nil {
          return Array(repeating: .succeeded(created: true), count: count)
        }
      }
      try self.connection.execute(self.statements.createStaging(numbering: false))
      try self.stage(CopyRows(records: self.work.records, numbered: true), 0 ..< count)
    }
    try self.connection.execute(self.statements.analyzeStaging)

    var rounds = Array(repeating: 1, count: count)
    if let markRounds = self.statements.markRounds {
      for row in try self.connection.query(markRounds) {
        guard let number = row[0].flatMap({ Int($0) }), let round = row[1].flatMap({ Int($0) }) else { continue }
        rounds[number] = round
      }
    }
    // Positions of the staged records by round, each in ascending order.
    var members: [Int: [Int]] = [:]
    for position in 0 ..< count where self.outcomes[position] == nil {
      members[rounds[position], default: []].append(position)
    }
    for (round, positions) in members.sorted(by: { $0.key < $1.key }) {
      try self.apply(round: round, positions[...])
    }
    return self.outcomes.map { $0 ?? .failed(code: "DATABASE_ERROR", message: "the record was not applied") }
  }

  /// Runs `copy` of the records as uploaded (into the table, or into the staging table, which
  /// numbers them in their order); a refused record, or a row count other than the records' (CSV
  /// the database reads otherwise than the engine), refuses them all.
  private func copy(_ csv: CSVRecords, _ copy: String) throws {
    let rows: Int
    do {
      rows = try self.connection.copy(copy, from: csv.bytes[...])
    } catch let error as PostgresError where error.isRecordError {
      throw CSVRecordsRefused("the database refused a record of the CSV: \(error.recordMessage)")
    }
    guard rows == csv.count else {
      throw CSVRecordsRefused("the database read \(rows) rows from the CSV of \(csv.count) records")
    }
  }

  /// Copies the records at `positions` into the staging table, splitting the range when a record
  /// cannot be staged (a key that does not parse, a NUL character).
  private mutating func stage(_ rows: CopyRows, _ positions: Range<Int>) throws {
    let copy = self.statements.copyIntoStaging
    guard let error = try self.attempt({ try $0.copy(copy, from: rows[positions]) }) else { return }
    guard positions.count > 1 else {
      self.outcomes[positions.lowerBound] = .failed(code: error.recordCode, message: error.recordMessage)
      return
    }
    let middle = positions.lowerBound + positions.count / 2
    try self.stage(rows, positions.lowerBound ..< middle)
    try self.stage(rows, middle ..< positions.upperBound)
  }

  /// Applies the staged records `members` (positions in ascending order, all of `round`).
  private mutating func apply(round: Int, _ members: ArraySlice<Int>) throws {
    guard let first = members.first, let last = members.last else { return }
    let apply = self.statements.apply
    let parameters = [String(round), String(first), String(last + 1)]
    var returned: [[String?]] = []
    let error = try self.attempt { connection in
      returned = try connection.query(apply, parameters)
    }
    guard let error else {
      self.record(members, returned)
      return
    }
    guard members.count > 1 else {
      self.outcomes[first] = .failed(code: error.recordCode, message: error.recordMessage)
      return
    }
    let middle = members.startIndex + members.count / 2
    try self.apply(round: round, members[..<middle])
    try self.apply(round: round, members[middle...])
  }

  /// Sets the outcomes of `members` from the rows their statement returned.
  private mutating func record(_ members: ArraySlice<Int>, _ returned: [[String?]]) {
    var matched: [Int: Bool] = [:]
    for row in returned {
      guard let number = row[0].flatMap({ Int($0) }) else { continue }
      matched[number] = row.count > 1 ? row[1] == "t" : false
    }
    for position in members {
      switch self.work.operation {
      case .insert:
        self.outcomes[position] = .succeeded(created: true)
      case .update, .delete:
        self.outcomes[position] = matched[position].map { _ in .succeeded(created: false) } ?? self.notFound(position)
      default:
        if let created = matched[position] {
          self.outcomes[position] = .succeeded(created: created)
        } else if self.keyValue(position) == .null {
          // A NULL key never conflicts, so the row was inserted; it just cannot be joined back.
          self.outcomes[position] = .succeeded(created: true)
        } else {
          self.outcomes[position] = .failed(
            code: "DATABASE_ERROR",
            message: "the database applied no row for the record"
          )
        }
      }
    }
  }

  /// The record's key; `nil` without a key, or for records as uploaded, whose keys the engine
  /// checked are not empty.
  private func keyValue(_ position: Int) -> FieldValue? {
    guard let keyIndex = self.statements.shape.keyIndex, position < self.work.records.count else { return nil }
    let values = self.work.records[position].values
    return keyIndex < values.count ? values[keyIndex] : nil
  }

  private func notFound(_ position: Int) -> RecordOutcome {
    .failed(
      code: "NOT_FOUND",
      message: "no row with \(self.work.keyColumn) = \((self.keyValue(position) ?? .null).displayText)"
    )
  }

  /// Runs `body` under a savepoint. A record error rolls back to the savepoint and is returned;
  /// any other error is thrown.
  private func attempt(_ body: (PostgresConnection) throws -> Void) throws -> PostgresError? {
    try self.connection.execute("SAVEPOINT spectra_batch")
    do {
      try body(self.connection)
      try self.connection.execute("RELEASE SAVEPOINT spectra_batch")
      return nil
    } catch let error as PostgresError where error.isRecordError {
      try self.connection.execute("ROLLBACK TO SAVEPOINT spectra_batch")
      try self.connection.execute("RELEASE SAVEPOINT spectra_batch")
      return error
    }
  }
}
