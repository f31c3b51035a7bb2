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
  /// Counts the rows of each batch it is handed.
  final class Sink: QueryRowSink {
    let batches = Mutex<[Int]>([])

    func columns(_ columns: [QueryColumn]) throws {}

    func rows(_ batch: QueryRows) throws {
      guard case .values(let rows) = batch else { return }
      self.batches.withLock { $0.append(rows.count) }
    }
  }

  @discardableResult
  static func run(_ statement: String, on path: String) throws -> Sink {
    let request = QueryRequest(
      jobID: "bulk-job-authorizer",
      sql: statement,
      output: .values,
      timeout: .seconds(30),
      cancellation: QueryCancellation()
    )
    let sink = Sink()
    _ = try SQLiteQuery(path: path, statement: statement, request: request, sink: sink).run()
    return sink
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

  @Test("rows of large values are handed on a few at a time, not a thousand")
  func batches() async throws {
    try await withTemporaryDirectory { directory in
      let path = "\(directory)/own.sqlite"
      try SQLiteConnection(path: path).execute("CREATE TABLE t (a INTEGER)")
      let sink = try Self.run(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 40) SELECT randomblob(1000000) FROM c",
        on: path
      )
      let batches = sink.batches.withLock { $0 }
      #expect(batches.reduce(0, +) == 40)
      #expect(batches.allSatisfy { $0 <= 5 }, "\(batches)")
    }
  }
}
