internal import BulkCore

/// The Redshift SQL that applies one chunk.
///
/// Redshift takes bulk data from S3 only, and has no `ON CONFLICT`, `RETURNING` or savepoints, so
/// its path differs from PostgreSQL's: the records, written as CSV to an S3 object, are copied
/// into a temporary staging table (`createStaging`, `copyIntoStaging`); `matchedRecords` tells
/// which records' keys the table already holds, which decides each record's outcome (created or
/// updated; deleted or `NOT_FOUND`); `removeSuperseded` keeps the last record of a repeated key,
/// as applying the records in order would leave it; then one statement applies the whole
/// staging table (`MERGE`, `UPDATE … FROM`, `DELETE … USING`, `INSERT … SELECT`), and
/// `dropStaging` removes it, since Redshift's temporary tables live as long as the session.
package struct RedshiftChunkStatements: Hashable, Sendable {
  /// The temporary staging table.
  package static let staging = "\"_spectra_staging\""

  /// The chunk the statements apply.
  package let shape: ChunkShape

  /// The statements for chunks of `shape`.
  package init(shape: ChunkShape) {
    self.shape = shape
  }

  /// Creates the staging table; every value is text, of Redshift's longest `VARCHAR`.
  package var createStaging: String {
    let columns = self.shape.columns.indices.map { "\(ChunkShape.stagingColumn($0)) VARCHAR(65535)" }
    return """
      CREATE TEMPORARY TABLE \(Self.staging) (_n BIGINT NOT NULL, _round INTEGER NOT NULL DEFAULT 1, \
      \(columns.joined(separator: ", ")))
      """
  }

  /// Loads the staging table from the CSV object at `s3URL` (columns: the record's number, then
  /// the chunk's columns; an empty unquoted field is `NULL`), reading it with `iamRole`.
  package func copyIntoStaging(s3URL: String, iamRole: String) -> String {
    let columns = ["_n"] + self.shape.columns.indices.map(ChunkShape.stagingColumn)
    return """
      COPY \(Self.staging) (\(columns.joined(separator: ", "))) FROM \(SQLDialect.literal(s3URL)) \
      IAM_ROLE \(SQLDialect.literal(iamRole)) FORMAT CSV
      """
  }

  /// The numbers of the staged records whose key the table already holds; `nil` for insert.
  package var matchedRecords: String? {
    guard let keyIndex = self.shape.keyIndex else { return nil }
    return """
      SELECT s._n FROM \(Self.staging) AS s \
      WHERE EXISTS (SELECT 1 FROM \(self.shape.target) WHERE \(self.keyMatch(keyIndex))) \
      ORDER BY s._n
      """
  }

  /// Deletes every staged record that a later record of the same key supersedes; `nil` for
  /// insert.
  package var removeSuperseded: String? {
    guard let keyIndex = self.shape.keyIndex else { return nil }
    return """
      DELETE FROM \(Self.staging) USING (SELECT s._n, ROW_NUMBER() OVER (PARTITION BY \(self.stagedKey(keyIndex)) \
      ORDER BY s._n DESC) AS position FROM \(Self.staging) AS s) AS d \
      WHERE \(Self.staging)._n = d._n AND d.position > 1
      """
  }

  /// Applies the whole staging table.
  package var apply: String {
    let shape = self.shape
    let target = shape.target
    let values = shape.columns.indices.map(self.value).joined(separator: ", ")
    guard let keyIndex = shape.keyIndex else {
      return "INSERT INTO \(target) (\(shape.columnList)) SELECT \(values) FROM \(Self.staging) AS s"
    }
    let key = Identifier.quoted(shape.columns[keyIndex])
    let assignments =
      shape.valueIndices.isEmpty
      ? "\(key) = \(target).\(key)"
      : shape.valueIndices.map { "\(Identifier.quoted(shape.columns[$0])) = \(self.value($0))" }.joined(separator: ", ")
    switch shape.operation {
    case .update:
      return "UPDATE \(target) SET \(assignments) FROM \(Self.staging) AS s WHERE \(self.keyMatch(keyIndex))"
    case .delete:
      return "DELETE FROM \(target) USING \(Self.staging) AS s WHERE \(self.keyMatch(keyIndex))"
    default:
      return """
        MERGE INTO \(target) USING \(Self.staging) AS s ON \(self.keyMatch(keyIndex)) \
        WHEN MATCHED THEN UPDATE SET \(assignments) \
        WHEN NOT MATCHED THEN INSERT (\(shape.columnList)) VALUES (\(values))
        """
    }
  }

  /// Removes the staging table.
  package var dropStaging: String {
    "DROP TABLE IF EXISTS \(Self.staging)"
  }

  /// The target's key equal to the staged record's (Redshift names the target by its full name:
  /// its `UPDATE` and `MERGE` take no alias).
  private func keyMatch(_ keyIndex: Int) -> String {
    "\(self.shape.target).\(Identifier.quoted(self.shape.columns[keyIndex])) = \(self.stagedKey(keyIndex))"
  }

  private func stagedKey(_ keyIndex: Int) -> String {
    self.value(keyIndex)
  }

  /// A staged value as its column's type. Text stays as staged: Redshift reads a `VARCHAR`
  /// without a length as `VARCHAR(256)`, and the assignment checks the column's own length.
  private func value(_ index: Int) -> String {
    let type = SQLDialect.castType(self.shape.declaredTypes[index])
    let column = "s.\(ChunkShape.stagingColumn(index))"
    switch type {
    case "character varying", "bpchar", "text": return column
    default: return "\(column)::\(type)"
    }
  }
}
