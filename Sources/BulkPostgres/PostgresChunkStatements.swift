internal import BulkCore

/// The PostgreSQL SQL that applies one chunk.
///
/// Insert first tries `copyIntoTarget`, a `COPY … FROM STDIN` straight into the table. Every other
/// path stages the records with `copyIntoStaging` into a temporary table that is dropped at
/// commit, then applies them with one set-based statement, `apply`, run per round (`$1`) and per
/// range of record numbers (`$2` first, `$3` past the last), so that a failing range can be split
/// until the bad record is isolated.
///
/// Staged values are text, cast to their column's type in `apply` (see `SQLDialect.castType`),
/// except the key column of update, upsert and delete: it is staged with its declared type so
/// that the database's own equality finds repeated keys (`markRounds`), and a key that does not
/// parse fails as its record's error while staging.
package struct PostgresChunkStatements: Hashable, Sendable {
  /// The temporary staging table.
  package static let staging = "pg_temp.\"_spectra_staging\""

  /// The chunk the statements apply.
  package let shape: ChunkShape

  /// The statements for chunks of `shape`.
  package init(shape: ChunkShape) {
    self.shape = shape
  }

  /// `COPY` of the records straight into the table: insert's fast path.
  package var copyIntoTarget: String {
    "COPY \(self.shape.target) (\(self.shape.columnList)) FROM STDIN"
  }

  /// `COPY` of an insert's records as uploaded (`ChunkWork.csv`) straight into the table: CSV in
  /// the upload's delimiter, every empty value NULL, quoted or not, as the engine reads them.
  package func copyCSVIntoTarget(delimiter: UInt8) -> String {
    let delimiter = delimiter == UInt8(ascii: "\t") ? "E'\\t'" : "'\(Character(Unicode.Scalar(delimiter)))'"
    return "COPY \(self.shape.target) (\(self.shape.columnList)) FROM STDIN "
      + "(FORMAT csv, DELIMITER \(delimiter), FORCE_NULL (\(self.shape.columnList)))"
  }

  /// Creates the staging table: the record's number in the chunk, its round, and one column per
  /// chunk column.
  package var createStaging: String {
    let columns = self.shape.columns.indices.map { index in
      let type = index == self.shape.keyIndex ? self.shape.declaredTypes[index] : "text"
      return "\(ChunkShape.stagingColumn(index)) \(type)"
    }
    return """
      CREATE TEMPORARY TABLE "_spectra_staging" (_n bigint NOT NULL, _round integer NOT NULL DEFAULT 1, \
      \(columns.joined(separator: ", "))) ON COMMIT DROP
      """
  }

  /// `COPY` of the numbered records into the staging table.
  package var copyIntoStaging: String {
    let columns = ["_n"] + self.shape.columns.indices.map(ChunkShape.stagingColumn)
    return "COPY \(Self.staging) (\(columns.joined(separator: ", "))) FROM STDIN"
  }

  /// Gives the staging table's planner statistics, so that the join with the target is planned
  /// for the chunk's real size: for the columns the statements filter and join on only (the
  /// record number, the round and the key), as statistics of the value columns decide no plan
  /// and sampling their text costs more than the rest of the analysis.
  package var analyzeStaging: String {
    let key = self.shape.keyIndex.map { [ChunkShape.stagingColumn($0)] } ?? []
    return "ANALYZE \(Self.staging) (\((["_n", "_round"] + key).joined(separator: ", ")))"
  }

  /// Puts the second record of a key in round 2, the third in round 3, and so on, and returns
  /// those records' numbers and rounds; `nil` for insert, which has no key.
  ///
  /// Each round holds a key at most once, and rounds are applied in order, so repeated keys
  /// in a chunk end as if the records were applied one after the other.
  package var markRounds: String? {
    guard let keyIndex = self.shape.keyIndex else { return nil }
    let key = ChunkShape.stagingColumn(keyIndex)
    return """
      UPDATE \(Self.staging) AS s SET _round = d.round \
      FROM (SELECT _n, row_number() OVER (PARTITION BY \(key) ORDER BY _n) AS round FROM \(Self.staging)) AS d \
      WHERE s._n = d._n AND d.round > 1 \
      RETURNING s._n, s._round
      """
  }

  /// The set-based statement for one round (`$1`) and range of record numbers (`$2` ..< `$3`).
  ///
  /// Its rows: update and delete return the numbers of the records that matched a row; upsert
  /// returns each record's number and whether it inserted (`t`) or updated (`f`); insert
  /// returns none.
  package var apply: String {
    let shape = self.shape
    let selected = "s._round = $1 AND s._n >= $2 AND s._n < $3"
    func value(_ index: Int) -> String {
      let column = "s.\(ChunkShape.stagingColumn(index))"
      return index == shape.keyIndex ? column : "\(column)::\(SQLDialect.castType(shape.declaredTypes[index]))"
    }
    let values = shape.columns.indices.map(value).joined(separator: ", ")
    guard let keyIndex = shape.keyIndex else {
      return """
        INSERT INTO \(shape.target) (\(shape.columnList)) \
        SELECT \(values) FROM \(Self.staging) AS s WHERE \(selected) ORDER BY s._n
        """
    }
    let key = Identifier.quoted(shape.columns[keyIndex])
    let stagedKey = "s.\(ChunkShape.stagingColumn(keyIndex))"
    switch shape.operation {
    case .update:
      // With nothing but the key, the row is still matched (and reported) by a no-op update.
      let assignments =
        shape.valueIndices.isEmpty
        ? "\(key) = t.\(key)"
        : shape.valueIndices.map { "\(Identifier.quoted(shape.columns[$0])) = \(value($0))" }.joined(separator: ", ")
      return """
        UPDATE \(shape.target) AS t SET \(assignments) \
        FROM \(Self.staging) AS s WHERE t.\(key) = \(stagedKey) AND \(selected) \
        RETURNING s._n
        """
    case .delete:
      return """
        DELETE FROM \(shape.target) AS t USING \(Self.staging) AS s \
        WHERE t.\(key) = \(stagedKey) AND \(selected) \
        RETURNING s._n
        """
    default:
      // Upsert. A row inserted by this statement has no xmax; one updated by ON CONFLICT has the
      // updating transaction's. RETURNING cannot name the staging row, so rows are joined back
      // to their records through the key, which is unique within a round.
      let assignments =
        shape.valueIndices.isEmpty
        ? "\(key) = EXCLUDED.\(key)"
        : shape.valueIndices.map {
          "\(Identifier.quoted(shape.columns[$0])) = EXCLUDED.\(Identifier.quoted(shape.columns[$0]))"
        }.joined(separator: ", ")
      return """
        WITH applied AS (\
        INSERT INTO \(shape.target) AS t (\(shape.columnList)) \
        SELECT \(values) FROM \(Self.staging) AS s WHERE \(selected) ORDER BY s._n \
        ON CONFLICT (\(key)) DO UPDATE SET \(assignments) \
        RETURNING t.\(key) AS key, t.xmax = 0 AS created) \
        SELECT s._n, a.created FROM applied AS a JOIN \(Self.staging) AS s ON \(stagedKey) = a.key \
        WHERE \(selected)
        """
    }
  }
}
