package import BulkPostgres

/// The statements only Redshift runs: `COPY … FROM 's3://…'` (with the rows it rejected, which
/// Redshift keeps in its load-error views) and `UNLOAD … TO 's3://…'`.
///
/// `RedshiftSQLStatements` runs them on the cluster. Everything around them — the objects
/// staged in S3, the staging table, the checks, `MERGE`, the ledger, reading the unloaded parts
/// — is the warehouse's own, the same whichever implementation runs these two.
package protocol RedshiftS3Statements: Sendable {
  /// Runs `copy` on `connection`, which loads the staging table from the objects its manifest
  /// lists, and returns the rows it rejected (at most `copy.maxErrors`; more fail the statement).
  func copy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection]

  /// Runs `unload` on `connection`, which writes the statement's rows as gzip CSV parts and a
  /// manifest under `unload.destination`.
  func unload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws
}

/// One `COPY` of a chunk into its staging table.
package struct RedshiftCopy: Hashable, Sendable {
  /// The statement.
  package var sql: String
  /// The quoted staging table.
  package var table: String
  /// The staging table's columns the objects fill, in the objects' field order.
  package var columns: [String]
  /// The manifest's bucket and key.
  package var manifestBucket: String
  package var manifestKey: String
  /// `s3://bucket/folder/`: every object of this `COPY` starts with it, and only those.
  package var objectPrefix: String
  /// The most rejected rows before the statement fails.
  package var maxErrors: Int
}

/// A row that `COPY` rejected, as Redshift's load-error views describe it.
package struct RedshiftLoadRejection: Hashable, Sendable {
  /// The object's `s3://` URL.
  package var file: String
  /// The 1-based line of the object where the row is.
  package var line: Int64
  /// The staging column whose value was refused, when one was.
  package var column: String
  /// Redshift's load error code (1204: too long for the column, 1207: not a digit, …).
  package var code: Int
  /// Redshift's reason.
  package var message: String

  package init(file: String, line: Int64, column: String, code: Int, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.code = code
    self.message = message
  }
}

/// One `UNLOAD` of a query job's statement.
package struct RedshiftUnload: Hashable, Sendable {
  /// The statement, the tenant's SQL quoted inside it.
  package var sql: String
  /// The tenant's SQL, as it should reach the cluster once `sql`'s literal is read.
  package var statement: String
  /// The bucket the parts and manifest go to.
  package var bucket: String
  /// The key prefix of the parts (`…/unload/part_`); the manifest is this prefix + `manifest`.
  package var destination: String
  /// The CSV field delimiter.
  package var delimiter: UInt8

  /// The manifest's key.
  package var manifestKey: String { self.destination + "manifest" }
}

/// The two statements as Redshift runs them.
package struct RedshiftSQLStatements: RedshiftS3Statements {
  package init() {}

  /// Runs the `COPY`, then reads its rejected rows from `sys_load_error_detail`, or
  /// `stl_load_errors` on a cluster without it, by the objects' URL prefix (the prefix is the
  /// chunk attempt's own, so no other load's rows are read).
  package func copy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
    try connection.execute(copy.sql)
    let rows: [[String?]]
    do {
      rows = try connection.query(
        """
        SELECT TRIM(file_name), line_number, TRIM(column_name), error_code, TRIM(error_message) \
        FROM sys_load_error_detail WHERE STRPOS(file_name, $1) = 1 ORDER BY file_name, line_number
        """,
        [copy.objectPrefix]
      )
    } catch let error as PostgresError where error.sqlState == "42P01" {
      rows = try connection.query(
        """
        SELECT TRIM(filename), line_number, TRIM(colname), err_code, TRIM(err_reason) \
        FROM stl_load_errors WHERE STRPOS(filename, $1) = 1 ORDER BY filename, line_number
        """,
        [copy.objectPrefix]
      )
    }
    return rows.compactMap { row in
      guard let file = row[0], let line = row[1].flatMap({ Int64($0) }) else { return nil }
      return RedshiftLoadRejection(
        file: file,
        line: line,
        column: row[2] ?? "",
        code: row[3].flatMap { Int($0) } ?? 0,
        message: row[4] ?? "the row was rejected"
      )
    }
  }

  package func unload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
    try connection.execute(unload.sql)
  }
}
