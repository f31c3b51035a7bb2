package import BulkCore

/// What the SQL of a chunk depends on: the operation, the target table, the chunk's columns with
/// their declared types, and which of them is the key. Records do not matter.
///
/// The staging table names its columns by position (`c0`, `c1`, …) beside the record number
/// `_n` and the round `_round`, so no column of the target can collide with them.
package struct ChunkShape: Hashable, Sendable {
  /// Insert, update, upsert or delete.
  package var operation: BulkCore.Operation
  /// `"schema"."table"`.
  package var target: String
  /// The chunk's column names, in record order.
  package var columns: [String]
  /// The declared type of each column, e.g. `character varying(20)`.
  package var declaredTypes: [String]
  /// The position of the key column in `columns`; `nil` for insert.
  package var keyIndex: Int?

  /// The shape of `work` on the tenant schema `schema`.
  ///
  /// - Throws: `BulkError.invalidArgument` when the chunk has no columns, names a column its
  ///   table does not have, lacks its key column among its columns, or belongs to a query job.
  package init(work: ChunkWork, schema: String) throws {
    guard !work.columns.isEmpty else {
      throw BulkError.invalidArgument("chunk \(work.chunk) of job \(work.jobID) has no columns")
    }
    self.operation = work.operation
    self.target = SQLDialect.qualified(schema, work.table.name)
    self.columns = work.columns
    self.declaredTypes = try work.columns.map { name in
      guard let column = work.table.column(named: name) else {
        throw BulkError.invalidArgument("table '\(work.table.name)' has no column '\(name)'")
      }
      return column.declaredType
    }
    switch work.operation {
    case .query:
      throw BulkError.invalidArgument("a query job has no records to apply")
    case .insert:
      self.keyIndex = nil
    case .update, .upsert, .delete:
      guard let keyIndex = work.columns.firstIndex(of: work.keyColumn) else {
        throw BulkError.invalidArgument("the key column '\(work.keyColumn)' is not among the chunk's columns")
      }
      self.keyIndex = keyIndex
    }
  }

  /// The staging table's name for column `index`.
  package static func stagingColumn(_ index: Int) -> String {
    "c\(index)"
  }

  /// The quoted target column names, comma separated.
  package var columnList: String {
    self.columns.map(Identifier.quoted).joined(separator: ", ")
  }

  /// The positions of the columns other than the key.
  package var valueIndices: [Int] {
    self.columns.indices.filter { $0 != self.keyIndex }
  }
}
