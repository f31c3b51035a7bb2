import BulkCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET …/results`: documents in the job's format, paging by locator, gzip, streaming.
@Suite("REST results", .timeLimit(.minutes(2)))
struct ResultRoutesTests {
  /// Creates `customers`, uploads `csv` to a new insert job, closes it and waits for the end.
  static func finishedJob(
    _ csv: String,
    harness: RESTHarness,
    client: some TestClientProtocol,
    create: String = #"{"operation":"insert","object":"customers"}"#,
    contentType: String = "text/csv"
  ) async throws -> String {
    try harness.sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    let id = try await client.createJob(create)
    let upload = try await client.upload(csv, to: try await client.uploadPath(id), contentType: contentType)
    #expect(upload.status == .ok, "\(upload.text)")
    try await client.close(id)
    #expect(try await harness.finished(id).state == .jobComplete)
    return id
  }

  @Test("results before a terminal state are 409")
  func notFinished() async throws {
    try await RESTHarness.run { _, client in
      let id = try await client.createJob()
      let response = try await client.call(.get, "/v1/bulk/jobs/\(id)/results")
      #expect(response.status == .conflict)
      #expect(response.error.code == "FAILED_PRECONDITION")
      #expect(response.error.message.contains("JobComplete"))
    }
  }

  @Test("CSV result sets with Bulk-Locator null and Bulk-Record-Count")
  func csvResults() async throws {
    try await RESTHarness.run { harness, client in
      let id = try await Self.finishedJob(
        "id,name\n1,Ada\n2,\n3,\"Hopper, Grace\"\n",
        harness: harness,
        client: client
      )
      let job = try await client.call(.get, "/v1/bulk/jobs/\(id)")
      #expect(job.object["state"] as? String == "JobComplete")
      #expect(job.object["number_records_processed"] as? Int == 3)
      #expect(job.object["number_records_failed"] as? Int == 1)
      #expect(job.object["progress_percentage"] as? Int == 100)

      let successful = try await client.call(.get, "/v1/bulk/jobs/\(id)/results")
      #expect(successful.status == .ok)
      #expect(successful.headers[.contentType] == "text/csv; charset=utf-8")
      #expect(successful.headers[Header.locator] == "null")
      #expect(successful.headers[Header.recordCount] == "2")
      #expect(successful.text == "_record,_created,id,name\n1,true,1,Ada\n3,true,3,\"Hopper, Grace\"\n")

      let failed = try await client.call(.get, "/bulk/jobs/\(id)/results?result_set=failed")
      #expect(failed.headers[Header.recordCount] == "1")
      #expect(failed.text.hasPrefix("_record,_error,id,name\n2,NOT_NULL: "))
      let unprocessed = try await client.call(.get, "/v1/bulk/jobs/\(id)/results?result_set=unprocessed")
      #expect(unprocessed.headers[Header.recordCount] == "0")
      #expect(unprocessed.text == "_record,id,name\n")

      for (query, message) in [
        ("result_set=query", "query result set"),
        ("result_set=all", "result_set 'all'"),
        ("max_records=-1", "max_records must not be negative"),
        ("max_records=ten", "max_records must be a whole number"),
        ("locator=forged", "locator is not one this server issued"),
        ("maxRecords=1", "unknown query parameter 'maxRecords'"),
      ] {
        let response = try await client.call(.get, "/v1/bulk/jobs/\(id)/results?\(query)")
        #expect(response.status == .badRequest, "\(query)")
        #expect(response.error.message.contains(message), "\(response.error.message)")
      }
    }
  }

  @Test("paging with max_records follows Bulk-Locator to null; each page is a whole document")
  func paging() async throws {
    try await RESTHarness.run { harness, client in
      let rows = (1 ... 5).map { "\($0),name \($0)\n" }.joined()
      let id = try await Self.finishedJob("id,name\n" + rows, harness: harness, client: client)
      var locator = ""
      var pages: [String] = []
      repeat {
        let page = try await client.call(.get, "/v1/bulk/jobs/\(id)/results?max_records=2&locator=\(locator)")
        #expect(page.status == .ok)
        #expect(page.text.hasPrefix("_record,_created,id,name\n"))
        pages.append(page.text)
        locator = try #require(page.headers[Header.locator])
        #expect(locator != "")
        #expect(page.headers[Header.recordCount] == (locator == "null" ? "1" : "2"))
      } while locator != "null"
      #expect(pages.count == 3)
      let records = pages.flatMap { $0.split(separator: "\n").dropFirst().map(String.init) }
      #expect(records == (1 ... 5).map { "\($0),true,\($0),name \($0)" })
    }
  }

  @Test("Accept-Encoding: gzip compresses the document")
  func gzip() async throws {
    try await RESTHarness.run { harness, client in
      let rows = (1 ... 200).map { "\($0),customer number \($0)\n" }.joined()
      let id = try await Self.finishedJob("id,name\n" + rows, harness: harness, client: client)
      let plain = try await client.call(.get, "/v1/bulk/jobs/\(id)/results")
      var accept: HTTPFields = [:]
      accept[.acceptEncoding] = "deflate, gzip;q=0.8"
      let compressed = try await client.call(.get, "/v1/bulk/jobs/\(id)/results", headers: accept)
      #expect(compressed.headers[.contentEncoding] == "gzip")
      #expect(compressed.headers[.vary] == "Accept-Encoding")
      #expect(compressed.headers[Header.recordCount] == "200")
      #expect(compressed.body.readableBytes < plain.body.readableBytes / 2)
      #expect(try gunzip(compressed.data) == plain.data)
      accept[.acceptEncoding] = "gzip;q=0, identity"
      let refused = try await client.call(.get, "/v1/bulk/jobs/\(id)/results", headers: accept)
      #expect(refused.headers[.contentEncoding] == nil)
      #expect(refused.data == plain.data)
    }
  }

  @Test("a JSON job's results are a JSON array")
  func jsonResults() async throws {
    try await RESTHarness.run { harness, client in
      let id = try await Self.finishedJob(
        #"[{"id":1,"name":"Ada"},{"id":2,"name":null},{"id":3,"name":"Cy"}]"#,
        harness: harness,
        client: client,
        create: #"{"operation":"insert","object":"customers","content_type":"JSON"}"#,
        contentType: "application/json"
      )
      let successful = try await client.call(.get, "/v1/bulk/jobs/\(id)/results")
      #expect(successful.headers[.contentType] == "application/json")
      #expect(successful.headers[Header.recordCount] == "2")
      let records = try #require(try JSONSerialization.jsonObject(with: successful.data) as? [[String: Any]])
      #expect(records.map { $0["_record"] as? Int } == [1, 3])
      #expect(records.map { $0["name"] as? String } == ["Ada", "Cy"])
      let failed = try await client.call(.get, "/v1/bulk/jobs/\(id)/results?result_set=failed&max_records=10")
      let failures = try #require(try JSONSerialization.jsonObject(with: failed.data) as? [[String: Any]])
      #expect(failures.count == 1)
      #expect((failures.first?["_error"] as? String)?.hasPrefix("NOT_NULL") == true)
      #expect(failed.headers[Header.locator] == "null")
    }
  }

  @Test("past the buffer a download streams: Bulk-Locator null, Bulk-Record-Count as a trailer")
  func streaming() async throws {
    try await RESTHarness.run(resultBufferSize: 64) { harness, client in
      let rows = (1 ... 50).map { "\($0),name \($0)\n" }.joined()
      let id = try await Self.finishedJob("id,name\n" + rows, harness: harness, client: client)
      let expected = "_record,_created,id,name\n" + (1 ... 50).map { "\($0),true,\($0),name \($0)\n" }.joined()

      let streamed = try await client.call(.get, "/v1/bulk/jobs/\(id)/results")
      #expect(streamed.status == .ok)
      #expect(streamed.text == expected)
      #expect(streamed.headers[Header.locator] == "null")
      #expect(streamed.headers[Header.recordCount] == nil)
      #expect(streamed.headers[Header.trailer] == "Bulk-Record-Count")
      #expect(streamed.trailerHeaders?[Header.recordCount] == "50")

      var accept: HTTPFields = [:]
      accept[.acceptEncoding] = "gzip"
      let compressed = try await client.call(.get, "/v1/bulk/jobs/\(id)/results", headers: accept)
      #expect(try gunzip(compressed.data) == Data(expected.utf8))
      #expect(compressed.trailerHeaders?[Header.recordCount] == "50")

      // A page over the buffer is read again to exactly its records, so it still has headers.
      let page = try await client.call(.get, "/v1/bulk/jobs/\(id)/results?max_records=40")
      #expect(page.headers[Header.recordCount] == "40")
      let locator = try #require(page.headers[Header.locator])
      #expect(locator != "null")
      let rest = try await client.call(.get, "/v1/bulk/jobs/\(id)/results?max_records=40&locator=\(locator)")
      #expect(rest.headers[Header.recordCount] == "10")
      #expect(rest.headers[Header.locator] == "null")
      let joined =
        page.text
        + rest.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        .joined(separator: "\n")
      #expect(joined == expected)
    }
  }
}
