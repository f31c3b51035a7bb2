import BulkPostgres
import Testing

@Suite("PostgresError")
struct PostgresErrorTests {
  @Test(
    "SQLSTATEs map to stable record codes",
    arguments: [
      ("23505", "DUPLICATE_KEY"), ("23502", "NOT_NULL"), ("23503", "FOREIGN_KEY"), ("23514", "CHECK_VIOLATION"),
      ("22001", "VALUE_TOO_LONG"), ("22P02", "INVALID_VALUE"), ("22003", "INVALID_VALUE"), ("22007", "INVALID_VALUE"),
      ("22008", "INVALID_VALUE"), ("22018", "INVALID_VALUE"), ("22023", "INVALID_VALUE"), ("22012", "INVALID_VALUE"),
      ("21000", "DATABASE_ERROR"), ("P0001", "DATABASE_ERROR"),
    ]
  )
  func recordCodes(sqlState: String, code: String) {
    let error = PostgresError(sqlState: sqlState, message: "m")
    #expect(error.recordCode == code)
    #expect(error.isRecordError)
  }

  @Test("errors of the statement, the session or the server are not a record's")
  func notRecordErrors() {
    for sqlState in ["42P01", "42703", "40P01", "40001", "57014", "53100", "XX000", "25P02"] {
      #expect(!PostgresError(sqlState: sqlState, message: "m").isRecordError, "\(sqlState)")
    }
    #expect(!PostgresError(message: "no SQLSTATE").isRecordError)
  }

  @Test("connection failures: class 08, shutdowns, a closed connection, or libpq's own word")
  func connectionFailures() {
    #expect(PostgresError(sqlState: "08006", message: "m").isConnectionFailure)
    #expect(
      PostgresError(sqlState: "57P01", message: "terminating connection due to administrator command")
        .isConnectionFailure
    )
    #expect(PostgresError(message: "server closed the connection unexpectedly").isConnectionFailure)
    #expect(PostgresError(message: "x", isConnectionFailure: true).isConnectionFailure)
    #expect(!PostgresError(sqlState: "23505", message: "m").isConnectionFailure)
    // A connection failure is never a record's error, whatever its SQLSTATE.
    #expect(!PostgresError(sqlState: "22000", message: "m", isConnectionFailure: true).isRecordError)
  }

  @Test("record messages join message and detail, and cut a long detail short")
  func recordMessages() {
    let duplicate = PostgresError(
      sqlState: "23505",
      message: #"duplicate key value violates unique constraint "t_pkey""#,
      detail: "Key (id)=(7) already exists."
    )
    #expect(
      duplicate.recordMessage
        == #"duplicate key value violates unique constraint "t_pkey": Key (id)=(7) already exists."#
    )
    #expect(PostgresError(sqlState: "22P02", message: "bad").recordMessage == "bad")
    let long = PostgresError(sqlState: "23502", message: "null", detail: String(repeating: "x", count: 2000))
    #expect(long.recordMessage.count == "null: ".count + 501)
  }
}
