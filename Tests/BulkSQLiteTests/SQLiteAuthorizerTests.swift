import BulkCore
import BulkTestSupport
import Foundation
import Synchronization
import Testing

@testable import BulkSQLite

/// The query connection's own fences, without the word filter in front: statements that
/// `QueryText` refuses first are run straight into `SQLiteQuery` here, so the authorizer and
/// the connection's limits are shown to stop them by themselves.
@Suite("SQLite query authorizer")
struct SQLiteAuthorizerTests {
  /// Collects nothing; the statements here must not get as far as a row.
  final class Sink: QueryRowSink {
    let rows = Mutex(0)

    func columns(_ columns: [QueryColumn]) throws {}

    func rows(_ batch: QueryRows) throws {
      self.rows.withLock { $0 += 1 }
    }
  }

  static func run(_ statement: String, on path: String) throws {
    let request = QueryRequest(
      jobID: "bulk-job-authorizer",
      sql: statement,
      output: .values,
      timeout: .seconds(30),
      cancellation: QueryCancellation()
    )
    _ = try SQLiteQuery(path: path, statement: statement, request: request, sink: Sink()).run()
  }

  @Test(
    "without the word filter, attaching, copying out, pragmas and dangerous functions are still refused",
    arguments: [
      ("ATTACH DATABASE 'OTHER' AS other", "attach or detach a database"),
      ("ATTACH 'file:OTHER?mode=ro' AS other", "attach or detach a database"),
      ("VACUUM INTO 'OTHER.copy'", "this statement writes"),
      ("PRAGMA database_list", "run PRAGMA database_list"),
      ("SELECT load_extension('x')", "load_extension()"),
      ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer()"),
      ("SELECT 1 FROM pragma_table_list", "table-valued function"),
    ]
  )
  func fences(template: String, reason: String) async throws {
    try await withTemporaryDirectory { directory in
      let own = "\(directory)/own.sqlite"
      let other = "\(directory)/other.sqlite"
      try SQLiteConnection(path: own).execute("CREATE TABLE t (a INTEGER)")
      try SQLiteConnection(path: other).execute("CREATE TABLE s (a TEXT); INSERT INTO s VALUES ('secret')")
      let statement = template.replacingOccurrences(of: "OTHER", with: other)
      let error = try #require(throws: BulkError.self) { try Self.run(statement, on: own) }
      #expect(error.message.contains(reason), "\(statement): \(error.message)")
      #expect(!FileManager.default.fileExists(atPath: other + ".copy"))
    }
  }
}
