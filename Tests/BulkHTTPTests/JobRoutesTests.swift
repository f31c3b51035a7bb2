import BulkCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The job routes of API.md §2: auth, tenancy, create, get, list, state changes and delete.
@Suite("REST job routes", .timeLimit(.minutes(2)))
struct JobRoutesTests {
  @Test("no, malformed or unknown tokens are 401, a foreign X-Tenant-ID 403, with no side effect")
  func authentication() async throws {
    try await RESTHarness.run { _, client in
      for token in [nil, "", "nope"] as [String?] {
        let create = try await client.call(.post, "/v1/bulk/jobs", token: token, json: #"{"operation":"insert"}"#)
        #expect(create.status == .unauthorized)
        #expect(create.error.code == "UNAUTHENTICATED")
        #expect(try await client.call(.get, "/v1/bulk/jobs", token: token).status == .unauthorized)
      }
      var raw: HTTPFields = [:]
      raw[.authorization] = "acme-token"
      let malformed = try await client.execute(uri: "/v1/bulk/jobs", method: .get, headers: raw)
      #expect(malformed.status == .unauthorized)
      #expect(malformed.error.message.contains("Bearer"))
      #expect(!malformed.text.contains("acme-token"), "the token is never echoed")

      let foreign = try await client.call(
        .post,
        "/v1/bulk/jobs",
        tenant: "other",
        json: #"{"operation":"insert","object":"customers"}"#
      )
      #expect(foreign.status == .forbidden)
      #expect(foreign.error.code == "PERMISSION_DENIED")
      let own = try await client.call(
        .post,
        "/v1/bulk/jobs",
        tenant: "acme",
        json: #"{"operation":"insert","object":"customers"}"#
      )
      #expect(own.status == .created)
      // Refused calls created nothing.
      let list = try await client.call(.get, "/v1/bulk/jobs")
      #expect((list.object["jobs"] as? [Any])?.count == 1)
    }
  }

  @Test("another tenant's job is 404 on every route, list included")
  func tenancy() async throws {
    try await RESTHarness.run { _, client in
      let id = try await client.createJob()
      let other = "other-token"
      for (method, path) in [
        (HTTPRequest.Method.get, "/v1/bulk/jobs/\(id)"),
        (.delete, "/v1/bulk/jobs/\(id)"),
        (.get, "/v1/bulk/jobs/\(id)/upload-url"),
        (.get, "/v1/bulk/jobs/\(id)/results"),
        (.get, "/bulk/jobs/\(id)"),
      ] {
        let response = try await client.call(method, path, token: other)
        #expect(response.status == .notFound, "\(method) \(path)")
        #expect(response.error.code == "NOT_FOUND")
      }
      let patch = try await client.call(.patch, "/v1/bulk/jobs/\(id)", token: other, json: #"{"state":"Aborted"}"#)
      #expect(patch.status == .notFound)
      let list = try await client.call(.get, "/v1/bulk/jobs", token: other)
      #expect((list.object["jobs"] as? [Any])?.isEmpty == true)
      #expect(try await client.call(.get, "/v1/bulk/jobs/\(id)").object["state"] as? String == "Open")
    }
  }

  @Test("create answers 201 with the job in snake_case, and get returns the same job")
  func createAndGet() async throws {
    try await RESTHarness.run { _, client in
      let response = try await client.call(
        .post,
        "/v1/bulk/jobs",
        json: #"{"operation":"upsert","object":"customers","external_id_field":"id","column_delimiter":"PIPE"}"#
      )
      #expect(response.status == .created)
      #expect(response.headers[.contentType] == "application/json")
      let job = response.object
      let id = try #require(job["job_id"] as? String)
      #expect(id.hasPrefix("bulk-job-"))
      #expect(response.headers[.location] == "/v1/bulk/jobs/\(id)")
      #expect(job["state"] as? String == "Open")
      #expect(job["operation"] as? String == "upsert")
      #expect(job["object"] as? String == "customers")
      #expect(job["content_type"] as? String == "CSV")
      #expect(job["compression"] as? String == "NONE")
      #expect(job["external_id_field"] as? String == "id")
      #expect(job["column_delimiter"] as? String == "|")
      #expect(job["tenant_id"] as? String == "acme")
      #expect(job["number_records_processed"] as? Int == 0)
      #expect(job["progress_percentage"] as? Int == 0)
      let created = try #require(job["created_at"] as? String)
      #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(created) <= Date())
      let names: Set<String> = [
        "job_id", "state", "operation", "object", "content_type", "compression", "query", "external_id_field",
        "created_at", "updated_at", "number_records_processed", "number_records_failed", "progress_percentage",
        "bytes_uploaded", "error_message", "tenant_id", "number_records_total", "total_processing_time_ms",
        "column_delimiter", "number_chunks", "number_chunks_completed",
      ]
      #expect(Set(job.keys) == names)

      let get = try await client.call(.get, "/v1/bulk/jobs/\(id)")
      #expect(get.status == .ok)
      #expect(get.text == response.text)
      #expect(try await client.call(.get, "/bulk/jobs/\(id)").text == response.text)
      #expect(try await client.call(.get, "/v1/bulk/jobs/bulk-job-missing").status == .notFound)
    }
  }

  @Test(
    "invalid create bodies are 400 naming the field",
    arguments: [
      (#"{"operation":"insert"}"#, "object is required"),
      (#"{"object":"customers"}"#, "operation is required"),
      (#"{"operation":"merge","object":"customers"}"#, "operation 'merge'"),
      (#"{"operation":"insert","object":"customers","extrenal_id_field":"id"}"#, "unknown field 'extrenal_id_field'"),
      (#"{"operation":1,"object":"customers"}"#, "operation must be a string"),
      (#"{"operation":"insert","object":"customers","content_type":"RECORD_BATCH"}"#, "content_type RECORD_BATCH"),
      (#"{"operation":"insert","object":"customers","content_type":"XML"}"#, "content_type 'XML'"),
      (#"{"operation":"insert","object":"customers","compression":"ZIP"}"#, "compression 'ZIP'"),
      (#"{"operation":"insert","object":"customers","query":"SELECT 1"}"#, "query is only allowed"),
      (#"{"operation":"insert","object":"customers","column_delimiter":"%"}"#, "column_delimiter"),
      (#"{"operation":"insert","object":"customers""#, "not valid JSON"),
      (#"["insert"]"#, "must be a JSON object"),
      ("", "the request body is empty"),
    ]
  )
  func validation(body: String, message: String) async throws {
    try await RESTHarness.run { _, client in
      let response = try await client.call(.post, "/v1/bulk/jobs", json: body)
      #expect(response.status == .badRequest)
      #expect(response.error.code == "INVALID_ARGUMENT")
      #expect(response.error.message.contains(message), "\(response.error.message)")
    }
  }

  @Test("request_id: a retry returns the same job, another body is 409 ALREADY_EXISTS")
  func requestID() async throws {
    try await RESTHarness.run { _, client in
      let body = #"{"operation":"insert","object":"customers","request_id":"retry-me"}"#
      let first = try await client.createJob(body)
      #expect(try await client.createJob(body) == first)
      let other = try await client.call(
        .post,
        "/v1/bulk/jobs",
        json: #"{"operation":"insert","object":"sales","request_id":"retry-me"}"#
      )
      #expect(other.status == .conflict)
      #expect(other.error.code == "ALREADY_EXISTS")
      #expect((try await client.call(.get, "/v1/bulk/jobs").object["jobs"] as? [Any])?.count == 1)
    }
  }

  @Test("the limit of unfinished jobs is 429")
  func activeJobLimit() async throws {
    try await RESTHarness.run(limits: Limits(maxActiveJobsPerTenant: 1)) { _, client in
      _ = try await client.createJob()
      let second = try await client.call(.post, "/v1/bulk/jobs", json: #"{"operation":"insert","object":"t"}"#)
      #expect(second.status == .tooManyRequests)
      #expect(second.error.code == "RESOURCE_EXHAUSTED")
    }
  }

  @Test("listing filters by state and pages with offset and next_offset")
  func listing() async throws {
    try await RESTHarness.run { _, client in
      var ids: [String] = []
      for _ in 0 ..< 5 {
        ids.append(try await client.createJob())
      }
      let abort = try await client.call(.patch, "/v1/bulk/jobs/\(ids[1])", json: #"{"state":"Aborted"}"#)
      #expect(abort.status == .ok)

      var seen: [String] = []
      var offset = ""
      var pages = 0
      repeat {
        let page = try await client.call(.get, "/v1/bulk/jobs?state=Open&limit=2&offset=\(offset)")
        #expect(page.status == .ok)
        let jobs = try #require(page.object["jobs"] as? [[String: Any]])
        #expect(jobs.count <= 2)
        #expect(jobs.allSatisfy { $0["state"] as? String == "Open" })
        seen += jobs.compactMap { $0["job_id"] as? String }
        offset = try #require(page.object["next_offset"] as? String)
        pages += 1
      } while !offset.isEmpty
      #expect(seen == [ids[4], ids[3], ids[2], ids[0]])
      #expect(pages == 2)

      let aborted = try await client.call(.get, "/bulk/jobs?state=Aborted")
      #expect((aborted.object["jobs"] as? [[String: Any]])?.compactMap { $0["job_id"] as? String } == [ids[1]])

      for (query, message) in [
        ("state=Running", "state 'Running'"),
        ("limit=many", "limit must be a whole number"),
        ("limit=-1", "limit must not be negative"),
        ("offset=forged", "offset is not a token"),
        ("status=Open", "unknown query parameter 'status'"),
      ] {
        let response = try await client.call(.get, "/v1/bulk/jobs?\(query)")
        #expect(response.status == .badRequest, "\(query)")
        #expect(response.error.message.contains(message), "\(response.error.message)")
      }
    }
  }

  @Test("PATCH closes and aborts; repeating is fine; a transition the diagram refuses is 409")
  func stateChanges() async throws {
    try await RESTHarness.run { harness, client in
      // With the table in place the closed job completes, so closing again is a repeat.
      try harness.sql("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
      let id = try await client.createJob()
      let path = "/v1/bulk/jobs/\(id)"
      for state in ["Open", "InProgress", "JobComplete", "Failed"] {
        let response = try await client.call(.patch, path, json: #"{"state":"\#(state)"}"#)
        #expect(response.status == .conflict, "\(state)")
        #expect(response.error.code == "FAILED_PRECONDITION")
      }
      let bad = try await client.call(.patch, path, json: #"{"state":"Done"}"#)
      #expect(bad.status == .badRequest)
      #expect(bad.error.message.contains("state 'Done'"))
      let missing = try await client.call(.patch, path, json: "{}")
      #expect(missing.error.message.contains("state is required"))

      let close = try await client.call(.patch, path, json: #"{"state":"UploadComplete"}"#)
      #expect(close.status == .ok)
      #expect(["UploadComplete", "InProgress", "JobComplete", "Failed"].contains(close.object["state"] as? String))
      #expect(try await client.call(.patch, path, json: #"{"state":"UploadComplete"}"#).status == .ok)

      let other = try await client.createJob()
      let abort = try await client.call(.patch, "/bulk/jobs/\(other)", json: #"{"state":"aborted"}"#)
      #expect(abort.object["state"] as? String == "Aborted")
      #expect(try await client.call(.patch, "/bulk/jobs/\(other)", json: #"{"state":"Aborted"}"#).status == .ok)
      let reopen = try await client.call(.patch, "/bulk/jobs/\(other)", json: #"{"state":"UploadComplete"}"#)
      #expect(reopen.status == .conflict)
    }
  }

  @Test("DELETE is 409 while the job is not terminal, 204 after, then the job is gone")
  func delete() async throws {
    try await RESTHarness.run { _, client in
      let id = try await client.createJob()
      let running = try await client.call(.delete, "/v1/bulk/jobs/\(id)")
      #expect(running.status == .conflict)
      #expect(running.error.code == "FAILED_PRECONDITION")
      _ = try await client.call(.patch, "/v1/bulk/jobs/\(id)", json: #"{"state":"Aborted"}"#)
      let deleted = try await client.call(.delete, "/v1/bulk/jobs/\(id)")
      #expect(deleted.status == .noContent)
      #expect(deleted.body.readableBytes == 0)
      #expect(try await client.call(.get, "/v1/bulk/jobs/\(id)").status == .notFound)
      #expect(try await client.call(.delete, "/v1/bulk/jobs/\(id)").status == .notFound)
    }
  }
}
