/// The SQL of a tenant's ledger table `"<schema>"."_spectra_ledger"`: one row per committed
/// chunk, `(job_id, chunk, outcomes)`, written in the chunk's own transaction.
///
/// Outcomes travel as hex text (`RecordOutcome.ledgerBytes`), decoded and encoded by the server,
/// so no binary parameter is needed.
package struct LedgerStatements: Hashable, Sendable {
  /// The ledger table's name in every tenant schema.
  package static let tableName = "_spectra_ledger"

  /// The dialect the statements are written in.
  package let dialect: SQLDialect
  /// `"<schema>"."_spectra_ledger"`.
  package let table: String

  /// The statements for the ledger of the tenant schema `schema`.
  package init(schema: String, dialect: SQLDialect) {
    self.dialect = dialect
    self.table = SQLDialect.qualified(schema, Self.tableName)
  }

  /// Creates the table when it is missing.
  package var create: String {
    switch self.dialect {
    case .postgres:
      """
      CREATE TABLE IF NOT EXISTS \(self.table) (job_id text NOT NULL, chunk integer NOT NULL, \
      outcomes bytea NOT NULL, committed_at timestamp with time zone NOT NULL DEFAULT now(), \
      PRIMARY KEY (job_id, chunk))
      """
    case .redshift:
      """
      CREATE TABLE IF NOT EXISTS \(self.table) (job_id VARCHAR(256) NOT NULL, chunk INTEGER NOT NULL, \
      outcomes VARBYTE(1024000) NOT NULL, committed_at TIMESTAMPTZ NOT NULL DEFAULT SYSDATE, \
      PRIMARY KEY (job_id, chunk))
      """
    }
  }

  /// Serializes the transactions that apply one chunk (`$1` its `lockKey`, `$2` chunk), so that
  /// a second, concurrent attempt waits for the first and then finds its ledger row.
  package var lockChunk: String {
    switch self.dialect {
    case .postgres:
      // Two 32-bit keys: the hashed job (with its ledger, as tenants may share job ids) and the chunk.
      "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1), $2::integer)"
    case .redshift:
      // Redshift has no advisory locks; the ledger table's lock serializes all chunks instead.
      "LOCK \(self.table)"
    }
  }

  /// The first parameter of `lockChunk` for a job.
  package func lockKey(jobID: String) -> String {
    "\(self.table)/\(jobID)"
  }

  /// The stored outcomes of one chunk as hex (`$1` job id, `$2` chunk).
  package var chunkOutcomes: String {
    "SELECT \(self.hex("outcomes")) FROM \(self.table) WHERE job_id = $1 AND chunk = $2::integer"
  }

  /// Records a chunk (`$1` job id, `$2` chunk, `$3` outcomes as hex).
  package var insert: String {
    let decoded = self.dialect == .postgres ? "pg_catalog.decode($3, 'hex')" : "FROM_HEX($3)"
    return "INSERT INTO \(self.table) (job_id, chunk, outcomes) VALUES ($1, $2::integer, \(decoded))"
  }

  /// Every chunk of a job with its outcomes as hex (`$1` job id).
  package var jobOutcomes: String {
    "SELECT chunk, \(self.hex("outcomes")) FROM \(self.table) WHERE job_id = $1 ORDER BY chunk"
  }

  /// Forgets a job (`$1` job id).
  package var remove: String {
    "DELETE FROM \(self.table) WHERE job_id = $1"
  }

  private func hex(_ column: String) -> String {
    self.dialect == .postgres ? "pg_catalog.encode(\(column), 'hex')" : "TO_HEX(\(column))"
  }
}
