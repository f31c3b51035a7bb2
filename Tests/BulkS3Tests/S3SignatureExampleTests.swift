import AsyncHTTPClient
import BulkS3
import Foundation
import Testing

/// The worked examples of AWS's S3 documentation ("Signature Calculations for the Authorization
/// Header: Transferring Payload in a Single Chunk" and "Authenticating Requests: Using Query
/// Parameters"), and an unsigned payload checked against botocore.
@Suite struct S3SignatureExampleTests {
  static let credentials = S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
  static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
  let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")

  func signature(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)], payloadHash: String) -> String? {
    let added = self.signer.signatureHeaders(
      method: method, path: path, query: query, headers: headers, payloadHash: payloadHash, date: Self.date,
      contentHashHeader: true
    )
    return added.first { $0.0 == "Authorization" }?.1.components(separatedBy: "Signature=").last
  }

  @Test func getObjectWithRange() {
    #expect(
      self.signature(
        method: "GET", path: "/test.txt",
        headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
        payloadHash: SigV4Signer.emptyPayloadHash
      ) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
  }

  @Test func putObject() {
    let body = Data("Welcome to Amazon S3.".utf8)
    #expect(SigV4Signer.sha256Hex(body) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    #expect(
      self.signature(
        method: "PUT", path: "/test$file.text",
        headers: [
          ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
          ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ],
        payloadHash: SigV4Signer.sha256Hex(body)
      ) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )
  }

  @Test func getBucketLifecycle() {
    #expect(
      self.signature(
        method: "GET", path: "/", query: [("lifecycle", "")], headers: [("Host", "examplebucket.s3.amazonaws.com")],
        payloadHash: SigV4Signer.emptyPayloadHash
      ) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    )
  }

  @Test func listObjects() {
    #expect(
      self.signature(
        method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: [("Host", "examplebucket.s3.amazonaws.com")],
        payloadHash: SigV4Signer.emptyPayloadHash
      ) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    )
  }

  /// botocore's `S3SigV4Auth` gives this signature for the ranged GET with `UNSIGNED-PAYLOAD`.
  @Test func unsignedPayload() {
    #expect(
      self.signature(
        method: "GET", path: "/test.txt",
        headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
        payloadHash: SigV4Signer.unsignedPayload
      ) == "edacce68e5445863e1f916719fac26d3be9c1581fccd7878ade0879597fc0dc1"
    )
  }

  @Test func presignedGetObjectOnAVirtualHostedEndpoint() async throws {
    let http = S3HTTPTransport()
    let client = try S3Client(
      configuration: S3Configuration(region: "us-east-1", endpoint: URL(string: "https://s3.amazonaws.com")!, addressing: .virtualHosted),
      credentials: S3StaticCredentials(Self.credentials),
      http: http
    )
    let url = try await client.presignedURL(method: "GET", bucket: "examplebucket", key: "test.txt", expires: 86400, date: Self.date)
    try await http.shutdown()
    #expect(url.hasPrefix("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
    #expect(url.contains("&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404&"))
    #expect(url.hasSuffix("&X-Amz-SignedHeaders=host"))
  }

  @Test func credentialsNeverPrintTheirSecret() {
    let credentials = S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "very-secret", sessionToken: "token-secret")
    let text = "\(credentials) \(String(reflecting: credentials))"
    #expect(text.contains("AKIDEXAMPLE"))
    #expect(!text.contains("very-secret"))
    #expect(!text.contains("token-secret"))
  }
}
