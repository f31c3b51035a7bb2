internal import BulkCore

/// The Redshift SQL that applies one chunk.
///
/// Redshift takes bulk data from S3 only, and has no `ON CONFLICT`, `RETURNING` or savepoints, so
/// its path differs from PostgreSQL's: the records, written as gzip CSV objects in S3, are copied
/// through a manifest into a temporary staging table typed like the target (`createStaging`,
/// `copyIntoStaging`), so `COPY` itself refuses a value its column cannot hold, record by record;
/// `nullRecords` and `repeatedKeys` find the records the operation's rules refuse (Redshift
/// enforces `NOT NULL` but no key, and `MERGE` fails on a key staged twice); `matchedRecords`
/// tells which records' keys the table already holds, which decides each record's outcome
/// (created or updated; deleted or `NOT_FOUND`); then one statement applies the whole staging
/// table (`MERGE`, `UPDATE … FROM`, `DELETE … USING`, `INSERT … SELECT`), and `dropStaging`
/// removes it, since Redshift's temporary tables live as long as the session.
package struct RedshiftChunkStatements: Hashable, Sendable {
  /// The temporary staging table.
  package static let staging = "\"_spectra_staging\""

  /// The chunk the statements apply.
  package let shape: ChunkShape

  /// The statements for chunks of `shape`.
  package init(shape: ChunkShape) {
    self.shape = shape
  }

  /// The staging table's columns in the order the staged objects' fields come: the record's
  /// position in the chunk, then the chunk's columns.
  package var stagedColumns: [String] {
    ["_n"] + self.shape.columns.indices.map(ChunkShape.stagingColumn)
  }

  /// Creates the staging table, each column of its target column's declared type.
  package var createStaging: String {
    let columns = self.shape.columns.indices.map { "\(ChunkShape.stagingColumn($0)) \(self.shape.declaredTypes[$0])" }
    return "CREATE TEMPORARY TABLE \(Self.staging) (_n BIGINT NOT NULL, \(columns.joined(separator: ", ")))"
  }

  /// Loads the staging table from the gzip CSV objects the manifest at `manifestURL` lists
  /// (`\N` unquoted is `NULL`), with `access` (the role or keys, and region, that reach the
  /// bucket); up to `maxErrors` rows that do not fit their columns are rejected into Redshift's
  /// load-error views instead of failing the statement.
  package func copyIntoStaging(manifestURL: String, access: String, maxErrors: Int) -> String {
    """
    COPY \(Self.staging) (\(self.stagedColumns.joined(separator: ", "))) FROM \(SQLDialect.literal(manifestURL)) \
    \(access) MANIFEST CSV GZIP NULL AS \(SQLDialect.literal("\\N")) MAXERROR \(maxErrors) \
    DATEFORMAT 'auto' TIMEFORMAT 'auto' COMPUPDATE OFF STATUPDATE OFF
    """
  }

  /// The position of each staged record with a `NULL` in column `index`.
  package func nullRecords(column index: Int) -> String {
    "SELECT _n FROM \(Self.staging) WHERE \(ChunkShape.stagingColumn(index)) IS NULL ORDER BY _n"
  }

  /// For update, upsert and delete: each staged record whose key an earlier staged record has,
  /// with that first record's position; `nil` for insert.
  package var repeatedKeys: String? {
    guard let keyIndex = self.shape.keyIndex else { return nil }
    let key = "s.\(ChunkShape.stagingColumn(keyIndex))"
    return """
      SELECT d._n, d.first FROM (SELECT s._n, MIN(s._n) OVER (PARTITION BY \(key)) AS first \
      FROM \(Self.staging) AS s WHERE \(key) IS NOT NULL) AS d WHERE d._n > d.first ORDER BY d._n
      """
  }

  /// Deletes the staged records at the positions listed, comma separated.
  package func removeRecords(_ positions: some Collection<Int>) -> String {
    "DELETE FROM \(Self.staging) WHERE _n IN (\(positions.map(String.init).joined(separator: ", ")))"
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

  /// A staged value: already of its column's type.
  private func value(_ index: Int) -> String {
    "s.\(ChunkShape.stagingColumn(index))"
  }
}
