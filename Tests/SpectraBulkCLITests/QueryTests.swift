internal import Foundation
internal import Testing

/// `spectra-bulk query` against the real server's demo tables.
@Suite("spectra-bulk query, end to end")
struct QueryTests {
  static let select = "SELECT id, name FROM customers ORDER BY id"

  @Test("rows to standard output as CSV; progress and the summary on standard error")
  func csvToStandardOutput() async throws {
    let server = try DemoServer()
    let query = try await server.cli(["query", Self.select, "--object", "customers"])
    #expect(query.status == 0, "\(query.standardError)")
    #expect(query.standardOutput == "id,name\n1,Ada Lovelace\n2,Grace Hopper\n3,Alan Turing\n")
    #expect(query.standardError.contains(": 3 rows written to standard output"))
  }

  @Test("rows to a file as JSON, one record per call, joined into one array; the JSON summary")
  func pagedJSONToFile() async throws {
    let server = try DemoServer()
    let output = "\(server.directory)/customers.json"
    let query = try await server.cli(
      [
        "query", Self.select, "--object", "customers", "--format", "json", "--page-records", "1", "-o", output,
        "--json",
      ]
    )
    #expect(query.status == 0, "\(query.standardError)")
    #expect(try query.json["rows"] as? Int == 3)
    #expect(
      try String(contentsOfFile: output, encoding: .utf8)
        == #"[{"id":1,"name":"Ada Lovelace"},{"id":2,"name":"Grace Hopper"},{"id":3,"name":"Alan Turing"}]"#
    )
  }

  @Test("a statement that is not a SELECT: exit 1 with the server's reason, nothing on standard output")
  func refusedStatement() async throws {
    let server = try DemoServer()
    let query = try await server.cli(["query", "DELETE FROM customers", "--object", "customers"])
    #expect(query.status == 1)
    #expect(query.standardOutput.isEmpty)
    #expect(query.standardError.contains("ended Failed: a query job runs a SELECT statement, not DELETE"))
  }
}
