package import Foundation

/// Where jobs load records and run queries: the embedded SQLite files or a PostgreSQL / Redshift
/// database, reached through this protocol only.
///
/// Every call is scoped to one tenant: its SQLite file, or its schema.
package protocol Warehouse: Sendable {
  /// The tenant's table, or `nil` when it has none of that name.
  func describe(table: String, tenant: Tenant) async throws -> TableDescription?

  /// Applies one chunk of records in one transaction, together with a ledger row
  /// (`job_id`, `chunk`, the outcomes) in the same database.
  ///
  /// A record that the database refuses is isolated and reported, and the others still load.
  /// When the ledger already has the chunk, nothing is applied again and the stored outcomes are
  /// returned: this is what makes each chunk apply exactly once across crashes and retries.
  ///
  /// - Returns: one outcome per record of `work.records` (or of `work.csv`), in order.
  /// - Throws: only for job-wide failures (the warehouse unreachable, the table gone); never for
  ///   a bad record, except `CSVRecordsRefused` for `work.csv`.
  func apply(_ work: ChunkWork, tenant: Tenant) async throws -> [RecordOutcome]

  /// Whether `apply` takes records as the CSV they were uploaded in (`ChunkWork.csv`); the
  /// engine sends them so for the operations that need no values of their own: insert and upsert.
  var loadsCSVAsUploaded: Bool { get }

  /// The outcomes of the job's chunks that committed, by chunk index.
  func ledger(jobID: String, tenant: Tenant) async throws -> [Int: [RecordOutcome]]

  /// Forgets the job's ledger rows (when the job is deleted).
  func removeLedger(jobID: String, tenant: Tenant) async throws

  /// Runs a query job's statement as the tenant, read-only and alone, and hands its result to
  /// `sink` as it is read, never holding it all in memory.
  ///
  /// Nothing the statement does outlives it: it cannot write, and session state it changes is
  /// undone before the connection serves anything else.
  ///
  /// - Returns: the number of rows.
  /// - Throws: `BulkError` when the statement is refused, fails or is cancelled (the job fails
  ///   with its message); a `RetryableWarehouseError` when the warehouse is unreachable.
  func export(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64
}

extension Warehouse {
  /// Records come as values only.
  package var loadsCSVAsUploaded: Bool { false }
}

/// A chunk's records as uploaded: CSV whose every record the engine's checks took, to be loaded
/// as it is (the engine passes no values then), each with a value for every column of the work.
package struct CSVRecords: Hashable, Sendable {
  /// The records, each ending in a line end but perhaps the last; no header.
  package var bytes: [UInt8]
  package var delimiter: UInt8
  /// How many records `bytes` holds: the load must report as many rows.
  package var count: Int

  package init(bytes: [UInt8], delimiter: UInt8, count: Int) {
    self.bytes = bytes
    self.delimiter = delimiter
    self.count = count
  }
}

/// `apply` could not load `ChunkWork.csv` as it is (the database refused a record, or read
/// another number of rows): nothing of the chunk was applied, and the engine applies it again
/// as values, which isolates each bad record.
package struct CSVRecordsRefused: Error, CustomStringConvertible {
  package var description: String

  package init(_ description: String) {
    self.description = description
  }
}

/// A table as the warehouse's catalog describes it.
package struct TableDescription: Hashable, Sendable {
  package var name: String
  /// In table order.
  package var columns: [ColumnDescription]
  /// The primary key's columns; empty when there is none.
  package var primaryKey: [String]
  /// Columns that each alone carry a unique constraint or index (the primary key's single
  /// column included), usable as an upsert key.
  package var uniqueColumns: Set<String>

  package init(name: String, columns: [ColumnDescription], primaryKey: [String], uniqueColumns: Set<String>) {
    self.name = name
    self.columns = columns
    self.primaryKey = primaryKey
    self.uniqueColumns = uniqueColumns
  }

  /// The column of this name, compared exactly.
  package func column(named name: String) -> ColumnDescription? {
    self.columns.first { $0.name == name }
  }
}

/// One column of a table.
package struct ColumnDescription: Hashable, Sendable {
  package var name: String
  /// The type as the database spells it, e.g. `numeric(12,2)` or `TEXT`.
  package var declaredType: String
  /// The family of values the column takes, which decides the checks before loading.
  package var type: ColumnType
  package var nullable: Bool
  /// Whether the column has a default (or is generated), so it may be left out of an insert.
  package var hasDefault: Bool

  package init(name: String, declaredType: String, type: ColumnType, nullable: Bool, hasDefault: Bool) {
    self.name = name
    self.declaredType = declaredType
    self.type = type
    self.nullable = nullable
    self.hasDefault = hasDefault
  }
}

/// Families of column types, for checking values before they reach the database.
package enum ColumnType: String, Hashable, Sendable {
  /// smallint, integer, bigint (SQLite: INTEGER affinity).
  case integer
  /// real, double precision, float.
  case double
  /// numeric / decimal (SQLite: NUMERIC affinity).
  case decimal
  case boolean
  case text
  /// date.
  case date
  /// timestamp with or without time zone.
  case timestamp
  /// bytea / BLOB.
  case bytes
  /// json / jsonb.
  case json
  /// Anything else (uuid, arrays, …): passed to the database as text, which checks it.
  case other
}

/// A field of an uploaded record, before it is converted for a column.
package enum FieldValue: Hashable, Sendable {
  /// An empty CSV field, a JSON `null`, a record batch's null.
  case null
  /// A CSV field or a JSON string.
  case text(String)
  /// A JSON number, as written (precision is kept).
  case number(String)
  case integer(Int64)
  case double(Double)
  case bool(Bool)
  case bytes([UInt8])
  case timestamp(Date)
}

/// One record of a chunk.
package struct ChunkRecord: Hashable, Sendable {
  /// The 1-based number of the record in the upload.
  package var number: Int64
  /// One value per `ChunkWork.columns` entry.
  package var values: [FieldValue]

  package init(number: Int64, values: [FieldValue]) {
    self.number = number
    self.values = values
  }
}

/// A chunk of records to apply.
package struct ChunkWork: Hashable, Sendable {
  package var jobID: String
  /// 0-based index of the chunk in the job.
  package var chunk: Int
  /// `insert`, `update`, `upsert` or `delete`.
  package var operation: Operation
  package var table: TableDescription
  /// The matching column of update, upsert and delete (checked to exist); empty for insert.
  package var keyColumn: String
  /// The records' columns, each a column of `table` (checked before).
  package var columns: [String]
  package var records: [ChunkRecord]
  /// The records as uploaded, in place of `records` (empty then), for a warehouse that
  /// `loadsCSVAsUploaded`.
  package var csv: CSVRecords?

  package init(
    jobID: String,
    chunk: Int,
    operation: Operation,
    table: TableDescription,
    keyColumn: String,
    columns: [String],
    records: [ChunkRecord],
    csv: CSVRecords? = nil
  ) {
    self.jobID = jobID
    self.chunk = chunk
    self.operation = operation
    self.table = table
    self.keyColumn = keyColumn
    self.columns = columns
    self.records = records
    self.csv = csv
  }
}

/// What happened to one record.
package enum RecordOutcome: Hashable, Sendable {
  /// Applied: `created` is true when a row was inserted, false when one was updated or deleted.
  case succeeded(created: Bool)
  /// Refused, with a stable code (`DUPLICATE_KEY`, `NOT_NULL`, `FOREIGN_KEY`, `CHECK_VIOLATION`,
  /// `INVALID_VALUE`, `VALUE_TOO_LONG`, `NOT_FOUND`, `DATABASE_ERROR`) and the database's reason.
  case failed(code: String, message: String)
}

/// An error of a warehouse call that the same call may not meet again later (a lost connection,
/// a restarting server): the engine retries it with backoff instead of failing the job.
package protocol RetryableWarehouseError: Error {
  /// Whether this error is worth retrying.
  var isRetryable: Bool { get }
}

extension FieldValue {
  /// A timestamp as ISO 8601 with fractional seconds in UTC, as results and warehouses write it.
  package static func iso8601(_ date: Date) -> String {
    date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
  }

  /// The value as a CSV field of results: NULL as an empty field, bytes as `\x` and hex digits,
  /// timestamps in ISO 8601.
  package var csvText: String {
    switch self {
    case .null: ""
    case .text(let text), .number(let text): text
    case .integer(let integer): String(integer)
    case .double(let double): String(double)
    case .bool(let bool): bool ? "true" : "false"
    case .bytes(let bytes): "\\x" + Hex.string(bytes)
    case .timestamp(let date): Self.iso8601(date)
    }
  }
}
