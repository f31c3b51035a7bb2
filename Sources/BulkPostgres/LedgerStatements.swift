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
      // Redshift's VARBYTE and its hex functions are its own; hex text in pieces of at most
      // `redshiftPieceLength` characters (VARCHAR's limit is 65535 bytes) reads the same on
      // PostgreSQL, where the tests run these statements.
      """
      CREATE TABLE IF NOT EXISTS \(self.table) (job_id VARCHAR(256) NOT NULL, chunk INTEGER NOT NULL, \
      part INTEGER NOT NULL, outcomes VARCHAR(65535) NOT NULL, committed_at TIMESTAMP NOT NULL, \
      PRIMARY KEY (job_id, chunk, part))
      """
    }
  }

  /// The most hex characters of outcomes in one Redshift ledger row.
  package static let redshiftPieceLength = 65_000

  /// Makes a second, concurrent attempt at one chunk wait for the first and then find its row.
  ///
  /// PostgreSQL: inserts the chunk's ledger row first, with no outcomes yet (`$1` job id, `$2`
  /// chunk); a row back means this transaction has the chunk, none means another committed it. A
  /// concurrent insert of the same key waits for the first transaction to end. The lock is a row
  /// of the tenant's own table, which no other tenant's SQL can take or hold (an advisory lock,
  /// which any role may take, could be held by another tenant's query to stall this load).
  ///
  /// Redshift, which has neither advisory locks nor `ON CONFLICT`: locks the ledger table, which
  /// serializes all chunks; no parameters.
  package var claimChunk: String {
    switch self.dialect {
    case .postgres:
      """
      INSERT INTO \(self.table) (job_id, chunk, outcomes) VALUES ($1, $2::integer, ''::bytea) \
      ON CONFLICT (job_id, chunk) DO NOTHING RETURNING chunk
      """
    case .redshift:
      "LOCK \(self.table)"
    }
  }

  /// The stored outcomes of one chunk as hex (`$1` job id, `$2` chunk), in pieces to join in
  /// order (one row on PostgreSQL).
  package var chunkOutcomes: String {
    switch self.dialect {
    case .postgres:
      "SELECT \(self.hex) FROM \(self.table) WHERE job_id = $1 AND chunk = $2::integer"
    case .redshift:
      "SELECT outcomes FROM \(self.table) WHERE job_id = $1 AND chunk = $2::integer ORDER BY part"
    }
  }

  /// Records a chunk's outcomes. PostgreSQL fills the row `claimChunk` inserted (`$1` job id,
  /// `$2` chunk, `$3` outcomes as hex); Redshift inserts one piece (`$3` the piece's number from
  /// 0, `$4` its hex, `$5` the commit time).
  package var recordChunk: String {
    switch self.dialect {
    case .postgres:
      """
      UPDATE \(self.table) SET outcomes = pg_catalog.decode($3, 'hex'), committed_at = pg_catalog.now() \
      WHERE job_id = $1 AND chunk = $2::integer
      """
    case .redshift:
      """
      INSERT INTO \(self.table) (job_id, chunk, part, outcomes, committed_at) \
      VALUES ($1, $2::integer, $3::integer, $4, $5::timestamp)
      """
    }
  }

  /// Every chunk of a job with its outcomes as hex (`$1` job id), a chunk's pieces in order
  /// (one per chunk on PostgreSQL).
  package var jobOutcomes: String {
    switch self.dialect {
    case .postgres:
      "SELECT chunk, \(self.hex) FROM \(self.table) WHERE job_id = $1 ORDER BY chunk"
    case .redshift:
      "SELECT chunk, outcomes FROM \(self.table) WHERE job_id = $1 ORDER BY chunk, part"
    }
  }

  /// Forgets a job (`$1` job id).
  package var remove: String {
    "DELETE FROM \(self.table) WHERE job_id = $1"
  }

  private var hex: String {
    "pg_catalog.encode(outcomes, 'hex')"
  }
}
