import BulkCore
import Testing

@Suite("QueryText")
struct QueryTextTests {
  static func check(_ sql: String, _ dialect: QueryText.Dialect = .postgres) throws(BulkError) -> String {
    try QueryText(sql, dialect: dialect, forbiddenFunctions: QueryText.postgresForbiddenFunctions).statement
  }

  @Test(
    "one reading statement passes, trimmed of white space and trailing semicolons",
    arguments: [
      ("  SELECT 1 ;  ", "SELECT 1"),
      ("select ';' as a, \"x;y\" from t -- ; trailing\n", "select ';' as a, \"x;y\" from t"),
      ("WITH a AS (SELECT 1) SELECT * FROM a;;", "WITH a AS (SELECT 1) SELECT * FROM a"),
      ("VALUES (1), (2)", "VALUES (1), (2)"),
      ("TABLE items", "TABLE items"),
      ("(SELECT 1) UNION (SELECT 2)", "(SELECT 1) UNION (SELECT 2)"),
      ("SELECT $$ ; set_config( $$, $tag$ ; $tag$", "SELECT $$ ; set_config( $$, $tag$ ; $tag$"),
      ("SELECT E'it\\'s; fine' /* nested /* ; */ still */", "SELECT E'it\\'s; fine'"),
      ("SELECT config_value(1), \"SET_CONFIG\"(2)", "SELECT config_value(1), \"SET_CONFIG\"(2)"),
    ]
  )
  func accepted(sql: String, statement: String) throws {
    #expect(try Self.check(sql) == statement)
  }

  @Test(
    "what is refused, and the reason names it with its byte offset",
    arguments: [
      ("SELECT 1; SELECT 2", "a second one starts at byte 10"),
      ("SELECT 1 ; -- c\n DELETE FROM t", "a second one starts at byte 17"),
      ("INSERT INTO t VALUES (1)", "not INSERT"),
      ("  ", "the query is empty"),
      ("-- only a comment", "the query is empty"),
      ("SELECT 'open", "not closed"),
      ("SELECT 1 /* open", "not closed"),
      ("SELECT set_config('role', 'none', true)", "calls set_config() at byte 7"),
      ("SELECT pg_catalog.SET_CONFIG ('a', 'b', false)", "calls set_config() at byte 18"),
      ("SELECT \"set_config\"('a', 'b', false)", "calls set_config()"),
      ("SELECT * FROM t WHERE a = (SELECT query_to_xml('x', true, true, ''))", "query_to_xml()"),
    ]
  )
  func refused(sql: String, reason: String) {
    #expect {
      _ = try Self.check(sql)
    } throws: { error in
      (error as? BulkError)?.message.contains(reason) == true
    }
  }

  @Test("SQLite quotes identifiers with brackets and backticks, and does not nest comments")
  func sqliteQuoting() throws {
    let forbidden = QueryText.sqliteForbiddenFunctions
    #expect(try QueryText("SELECT [a;b], `c;d` FROM t", dialect: .sqlite, forbiddenFunctions: forbidden).statement
      == "SELECT [a;b], `c;d` FROM t")
    #expect(throws: BulkError.self) {
      try QueryText("SELECT load_extension('x')", dialect: .sqlite, forbiddenFunctions: forbidden)
    }
    #expect(throws: BulkError.self) {
      try QueryText("SELECT 1 /* /* */ ; DROP TABLE t */", dialect: .sqlite, forbiddenFunctions: forbidden)
    }
  }
}
