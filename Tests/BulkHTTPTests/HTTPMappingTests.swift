import BulkCore
import Foundation
import Hummingbird
import Testing

@testable import BulkHTTP

/// The small parsers and the status mapping of the REST surface.
@Suite("REST mapping")
struct HTTPMappingTests {
  @Test(
    "each BulkError code has its HTTP status",
    arguments: [
      (BulkError.Code.invalidArgument, RESTError.Call.other, 400),
      (.unauthenticated, .other, 401),
      (.permissionDenied, .upload, 403),
      (.notFound, .other, 404),
      (.failedPrecondition, .upload, 409),
      (.alreadyExists, .other, 409),
      (.outOfRange, .upload, 416),
      (.resourceExhausted, .upload, 413),
      (.resourceExhausted, .other, 429),
      (.unavailable, .other, 503),
      (.unimplemented, .other, 501),
      (.internal, .other, 500),
    ]
  )
  func status(code: BulkError.Code, call: RESTError.Call, status: Int) {
    let error = RESTError(BulkError(code: code, message: "m"), during: call)
    #expect(error.status.code == status)
    #expect(error.code == code.description)
    #expect(error.message == "m")
  }

  @Test("a request over a size limit is 413 on every route; other RESOURCE_EXHAUSTED outside uploads is 429")
  func requestTooLarge() {
    for call in RESTError.Call.allCases {
      #expect(RESTError(.requestTooLarge("query is too long"), during: call).status == .contentTooLarge)
    }
    #expect(
      RESTError(BulkError(code: .resourceExhausted, message: "too many jobs"), during: .other).status
        == .tooManyRequests
    )
  }

  @Test("a BulkError's cause stays in the RESTError for the log, out of its body and its equality")
  func cause() throws {
    struct Underlying: Error {}
    let error = RESTError(BulkError(code: .unavailable, message: "retry later", cause: Underlying()))
    #expect(try #require(error.cause) is Underlying)
    #expect(error == RESTError(status: .serviceUnavailable, code: .unavailable, message: "retry later"))
  }

  @Test(
    "Content-Range values",
    arguments: [
      ("bytes 0-9/*", Int64?.none, Int64?.some(0)),
      ("bytes 10-19/20", 10, 10),
      ("BYTES  5-5/*", 1, 5),
      ("bytes 10-19/15", nil, nil),
      ("bytes 10-9/*", nil, nil),
      ("bytes 0-9/*", 5, nil),
      ("bytes */100", nil, nil),
      ("bytes=0-9", nil, nil),
      ("bytes -1-9/*", nil, nil),
      ("items 0-9/*", nil, nil),
    ]
  )
  func contentRange(header: String, contentLength: Int64?, start: Int64?) {
    let parsed = try? ContentRange(header: header, contentLength: contentLength)
    #expect(parsed?.start == start, "\(header)")
  }

  @Test(
    "Accept-Encoding allows gzip only when it is acceptable",
    arguments: [
      ("gzip", true),
      ("deflate, gzip;q=0.5", true),
      ("GZIP", true),
      ("x-gzip", true),
      ("*", true),
      ("gzip;q=0", false),
      ("gzip; q=0.0, *", false),
      ("br, deflate", false),
      ("identity", false),
      ("*;q=0", false),
    ]
  )
  func acceptEncoding(header: String, allowed: Bool) {
    #expect(AcceptEncoding.allowsGzip(header) == allowed, "\(header)")
  }

  @Test("an upload URL signature binds job, tenant and expiry, and is checked for expiry")
  func signer() throws {
    let signer = UploadURLSigner(key: Array("key".utf8))
    let path = signer.pathAndQuery(jobID: "bulk-job-1", tenantID: "a b&c", expires: 2_000)
    #expect(path.hasPrefix("/v1/bulk/uploads/bulk-job-1?tenant=a%20b%26c&expires=2000&signature="))
    let signature = String(try #require(path.split(separator: "=").last))
    let now = Date(timeIntervalSince1970: 1_000)
    let grant = try signer.verify(jobID: "bulk-job-1", tenant: "a b&c", expires: "2000", signature: signature, now: now)
    #expect(grant == .init(jobID: "bulk-job-1", tenantID: "a b&c"))
    #expect(
      try signer.verify(
        jobID: "bulk-job-1",
        tenant: "a b&c",
        expires: "2000",
        signature: signature.uppercased(),
        now: now
      )
        == grant
    )
    for (job, tenant, expires, signature, time) in [
      ("bulk-job-2", "a b&c", "2000", signature, now),
      ("bulk-job-1", "a b", "2000", signature, now),
      ("bulk-job-1", "a b&c", "2001", signature, now),
      ("bulk-job-1", "a b&c", "+2000", signature, now),
      ("bulk-job-1", "a b&c", "2000", String(signature.dropLast()), now),
      ("bulk-job-1", "a b&c", "2000", signature, Date(timeIntervalSince1970: 2_001)),
    ] {
      #expect(throws: BulkError.self) {
        try signer.verify(jobID: job, tenant: tenant, expires: expires, signature: signature, now: time)
      }
    }
    let other = UploadURLSigner(key: Array("another key".utf8))
    #expect(throws: BulkError.self) {
      try other.verify(jobID: "bulk-job-1", tenant: "a b&c", expires: "2000", signature: signature, now: now)
    }
    #expect(throws: BulkError.self) {
      try signer.verify(jobID: "bulk-job-1", tenant: nil, expires: "2000", signature: signature, now: now)
    }
  }

  @Test("JSON bodies: strings only, known fields only")
  func jsonBody() throws {
    let body = try JSONObjectBody(Data(#"{"a":"x","b":null}"#.utf8), accepted: ["a", "b", "c"])
    #expect(try body.string("a") == "x")
    #expect(try body.string("b") == nil)
    #expect(try body.string("c") == nil)
    for (json, message) in [
      (#"{"a":true}"#, "a must be a string, not a boolean"),
      (#"{"a":[1]}"#, "a must be a string, not an array or object"),
      (#"{"a":1.5}"#, "a must be a string, not a number"),
      (#"{"d":"x"}"#, "unknown field 'd': this request takes a, b, c"),
    ] {
      do {
        _ = try JSONObjectBody(Data(json.utf8), accepted: ["a", "b", "c"]).string("a")
        Issue.record("\(json) was accepted")
      } catch {
        #expect(error.message == message)
      }
    }
  }
}
