internal import BulkCore
internal import BulkPostgres
internal import Foundation

/// The part of a Redshift query job that runs on the cluster, on a connection logged in as the
/// tenant's own query login: the session pinned (`statement_timeout`, `search_path`, UTC), the
/// login checked to read its schema and nothing else, the statement's columns described, and
/// the statement run inside `UNLOAD`, which writes its rows to S3 as gzip CSV parts and a
/// manifest. The caller's deadline or abort sends cancel requests meanwhile.
///
/// `UNLOAD` itself is no fence: Redshift runs the statement with the login's privileges, so a
/// query of another schema fails there as it would on PostgreSQL.
struct RedshiftUnloadSession {
  let unload: RedshiftUnload
  let schema: String
  let request: QueryRequest
  let statements: any RedshiftS3Statements

  /// The `UNLOAD` of `statement` (one statement, already checked by `QueryText`) to
  /// `destination`, a key prefix in the staging bucket: parts in CSV with `delimiter`, gzip, one
  /// or more per slice, and a verbose manifest (each part's size and rows).
  ///
  /// The statement becomes a string literal as Redshift reads one: quotes and backslashes
  /// doubled (Redshift reads a backslash in a literal as an escape), so whatever it holds, it
  /// stays inside the literal and reaches the cluster as written.
  static func unload(
    statement: String,
    staging: RedshiftStaging,
    destination: String,
    delimiter: UInt8
  ) -> RedshiftUnload {
    let sql = """
      UNLOAD (\(SQLDialect.literal(statement))) TO \(SQLDialect.literal(staging.url(destination))) \
      \(staging.accessClauses) FORMAT AS CSV DELIMITER AS \(SQLDialect.literal(String(UnicodeScalar(delimiter)))) \
      GZIP PARALLEL ON MANIFEST VERBOSE ALLOWOVERWRITE
      """
    return RedshiftUnload(
      sql: sql,
      statement: statement,
      bucket: staging.bucket,
      destination: destination,
      delimiter: delimiter
    )
  }

  /// Runs the session on `connection`, blocking the calling thread; hands the statement's
  /// columns to `sink` before the `UNLOAD` runs, and returns them.
  func run(on connection: PostgresConnection, sink: any QueryRowSink) throws -> [QueryColumn] {
    // Query connections are never reused (see `PostgresWarehouse.withQueryConnection`), so
    // session settings end with the job.
    try connection.execute("SET statement_timeout TO \(max(1, self.request.timeout.inMilliseconds))")
    try connection.execute("SET search_path TO \(Identifier.quoted(self.schema))")
    try connection.execute("SET timezone TO 'UTC'")
    try PostgresWarehouse.checkQueryFence(schema: self.schema, on: connection)

    let described = try self.translating { try connection.describe(self.unload.statement) }
    let columns = described.map { QueryColumn(name: $0.name, type: PostgresWarehouse.queryColumnType(oid: $0.typeOID)) }
    try sink.columns(columns)

    let cancel = RepeatedCancel(connection.makeCanceller())
    defer { cancel.stop() }
    try self.request.whileRunning(onCancel: cancel.start) {
      try self.translating { try self.statements.unload(self.unload, on: connection) }
    }
    return columns
  }

  /// Runs `body`, turning the cluster's refusals into the job's reasons; a lost connection is
  /// rethrown as it is, to be retried.
  private func translating<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as PostgresError where !error.isConnectionFailure {
      throw Self.reason(error, request: self.request)
    }
  }

  /// The job's reason for a statement the cluster refused or stopped.
  static func reason(_ error: PostgresError, request: QueryRequest) -> BulkError {
    let message = error.message.lowercased()
    switch error.sqlState {
    case "25006":
      return BulkError.queryRefused("the query may only read: \(error.message)")
    case "42501":
      return BulkError.queryRefused("the query may read only the tenant's own tables: \(error.message)")
    case "57014":
      return BulkError.queryCancelled(request.cancellation.reason, timeout: request.timeout)
    case "42601" where error.message.contains("multiple commands"):
      return BulkError.queryRefused("a query job runs a single statement: \(error.message)")
    default:
      if message.contains("limit") && message.contains("not supported") {
        return BulkError.queryRefused(
          "Redshift's UNLOAD refuses a LIMIT in the outer SELECT; put it in a subquery, "
            + "e.g. SELECT * FROM (SELECT … LIMIT n) AS t: \(error.message)"
        )
      }
      return BulkError.queryRefused("the query failed: \(error.message)" + (error.detail.map { " (\($0))" } ?? ""))
    }
  }
}
