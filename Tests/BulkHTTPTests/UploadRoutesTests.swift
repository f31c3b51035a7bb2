import BulkCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Signed upload URLs and `PUT` to them: signature, expiry, media types, resume by offset.
@Suite("REST uploads", .timeLimit(.minutes(2)))
struct UploadRoutesTests {
  @Test("upload-url is signed for the job and tenant and expires after its lifetime")
  func uploadURL() async throws {
    try await RESTHarness.run { harness, client in
      let id = try await client.createJob()
      let response = try await client.call(.get, "/v1/bulk/jobs/\(id)/upload-url")
      #expect(response.status == .ok)
      let url = try #require(response.object["upload_url"] as? String)
      #expect(url.hasPrefix("http://localhost/v1/bulk/uploads/\(id)?tenant=acme&expires="))
      let components = try #require(URLComponents(string: url))
      let query = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
      let signature = try #require(query["signature"])
      #expect(signature.count == 64 && signature.allSatisfy(\.isHexDigit))
      let expiresText = try #require(query["expires"])
      let expires = try #require(Int64(expiresText))
      #expect(expires == Int64(harness.clock.now.timeIntervalSince1970) + 3600)
      let expiresAt = try #require(response.object["expires_at"] as? String)
      let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(expiresAt)
      #expect(Int64(parsed.timeIntervalSince1970) == expires)
      #expect(try await client.call(.get, "/v1/bulk/jobs/bulk-job-missing/upload-url").status == .notFound)
    }
  }

  @Test("a PUT without Authorization stores the body; a plain PUT appends")
  func put() async throws {
    try await RESTHarness.run { _, client in
      let id = try await client.createJob()
      let path = try await client.uploadPath(id)
      let first = try await client.upload("id,name\n1,Ada\n", to: path)
      #expect(first.status == .ok, "\(first.text)")
      #expect(first.object["job_id"] as? String == id)
      #expect(first.object["bytes_uploaded"] as? Int == 14)
      // Records are counted as the engine cuts them into chunks: present, but not exact yet.
      #expect(first.object["records_received"] is Int)
      let second = try await client.upload("2,Grace\n", to: path, contentType: "text/csv; charset=utf-8")
      #expect(second.object["bytes_uploaded"] as? Int == 22)
      let job = try await client.call(.get, "/v1/bulk/jobs/\(id)")
      #expect(job.object["bytes_uploaded"] as? Int == 22)
      // The /bulk alias takes the same signed URL.
      let alias = try await client.upload("", to: path.replacingOccurrences(of: "/v1/bulk/", with: "/bulk/"))
      #expect(alias.object["bytes_uploaded"] as? Int == 22)
    }
  }

  @Test("a tampered, foreign or unsigned upload URL is 403 and stores nothing")
  func tampered() async throws {
    try await RESTHarness.run { _, client in
      let id = try await client.createJob()
      let otherJob = try await client.createJob()
      let path = try await client.uploadPath(id)
      let signature = try #require(path.split(separator: "=").last)
      let flipped =
        String(signature.prefix(10)) + (signature.dropFirst(10).first == "a" ? "b" : "a")
        + signature.dropFirst(11)
      for variant in [
        path.replacingOccurrences(of: String(signature), with: flipped),
        path.replacingOccurrences(of: "tenant=acme", with: "tenant=other"),
        path.replacingOccurrences(of: id, with: otherJob),
        path.replacingOccurrences(of: "expires=", with: "expires=9"),
        String(path.prefix(while: { $0 != "?" })),
        path.replacingOccurrences(of: String(signature), with: "zz"),
      ] {
        let response = try await client.upload("id,name\n1,Ada\n", to: variant)
        #expect(response.status == .forbidden, "\(variant)")
        #expect(response.error.code == "PERMISSION_DENIED")
      }
      #expect(try await client.call(.get, "/v1/bulk/jobs/\(id)").object["bytes_uploaded"] as? Int == 0)
    }
  }

  @Test("an expired upload URL is 403")
  func expired() async throws {
    try await RESTHarness.run { harness, client in
      let id = try await client.createJob()
      let path = try await client.uploadPath(id)
      harness.clock.advance(by: 3599)
      #expect(try await client.upload("id,name\n", to: path).status == .ok)
      harness.clock.advance(by: 2)
      let response = try await client.upload("1,Ada\n", to: path)
      #expect(response.status == .forbidden)
      #expect(response.error.message.contains("expired"))
    }
  }

  @Test("a Content-Type or Content-Encoding that does not fit the job is 415")
  func mediaTypes() async throws {
    try await RESTHarness.run { _, client in
      let csv = try await client.uploadPath(try await client.createJob())
      for contentType in ["application/json", "application/x-www-form-urlencoded", "application/gzip"] {
        let response = try await client.upload("id,name\n", to: csv, contentType: contentType)
        #expect(response.status == .unsupportedMediaType, "\(contentType)")
        #expect(response.error.message.contains("text/csv"))
      }
      var gzip: HTTPFields = [:]
      gzip[.contentEncoding] = "gzip"
      #expect(try await client.upload("id,name\n", to: csv, headers: gzip).status == .unsupportedMediaType)

      let json = try await client.uploadPath(
        try await client.createJob(#"{"operation":"insert","object":"customers","content_type":"JSON"}"#)
      )
      #expect(try await client.upload("id,name\n", to: json).status == .unsupportedMediaType)
      let ndjson = try await client.upload(
        #"{"id":1,"name":"Ada"}"# + "\n",
        to: json,
        contentType: "application/x-ndjson"
      )
      #expect(ndjson.status == .ok, "\(ndjson.text)")

      let gzipJob = try await client.uploadPath(
        try await client.createJob(#"{"operation":"insert","object":"customers","compression":"GZIP"}"#)
      )
      let binary = try await client.upload("", to: gzipJob, contentType: "application/octet-stream")
      #expect(binary.status == .ok, "\(binary.text)")
    }
  }

  @Test("a PUT after close is 409, to a query job 409")
  func closed() async throws {
    try await RESTHarness.run { _, client in
      let id = try await client.createJob()
      let path = try await client.uploadPath(id)
      _ = try await client.call(.patch, "/v1/bulk/jobs/\(id)", json: #"{"state":"Aborted"}"#)
      let response = try await client.upload("id,name\n1,Ada\n", to: path)
      #expect(response.status == .conflict)
      #expect(response.error.code == "FAILED_PRECONDITION")

      let query = try await client.createJob(
        #"{"operation":"query","object":"customers","query":"SELECT id FROM customers"}"#
      )
      let refused = try await client.upload("id\n1\n", to: try await client.uploadPath(query))
      #expect(refused.status == .conflict)
      #expect(refused.error.message.contains("query jobs take no upload"))
    }
  }

  @Test("Content-Range resumes: an overlap is skipped, a gap is 416, and every record loads once")
  func resume() async throws {
    try await RESTHarness.run { harness, client in
      try harness.sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
      let csv = Array("id,name\n1,Ada\n2,Bob\n3,Cy\n".utf8)
      let id = try await client.createJob()
      let path = try await client.uploadPath(id)
      func put(_ range: Range<Int>, total: String = "*") async throws -> TestResponse {
        var headers: HTTPFields = [:]
        headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(total)"
        headers[.contentType] = "text/csv"
        return try await client.call(.put, path, token: nil, body: Data(csv[range]), headers: headers)
      }
      #expect(try await put(0 ..< 14).object["bytes_uploaded"] as? Int == 14)
      // Bytes 8..<14 are stored already: only 14..<20 is appended.
      let overlap = try await put(8 ..< 20)
      #expect(overlap.status == .ok)
      #expect(overlap.object["bytes_uploaded"] as? Int == 20)
      let gap = try await put(24 ..< csv.count)
      #expect(gap.status == .rangeNotSatisfiable)
      #expect(gap.error.code == "OUT_OF_RANGE")
      #expect(gap.error.message.contains("20"))
      let last = try await put(20 ..< csv.count, total: String(csv.count))
      #expect(last.object["bytes_uploaded"] as? Int == csv.count)

      var lying: HTTPFields = [:]
      lying[.contentRange] = "bytes 0-99/*"
      let mismatch = try await client.upload("id,name\n", to: path, headers: lying)
      #expect(mismatch.status == .badRequest)
      #expect(mismatch.error.message.contains("Content-Length"))
      var malformed: HTTPFields = [:]
      malformed[.contentRange] = "bytes=0-7"
      #expect(try await client.upload("id,name\n", to: path, headers: malformed).status == .badRequest)

      try await client.close(id)
      let job = try await harness.finished(id)
      #expect(job.state == .jobComplete)
      #expect(job.numberRecordsProcessed == 3)
      #expect(job.numberRecordsFailed == 0)
    }
  }
}
