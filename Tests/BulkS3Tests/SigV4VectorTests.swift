import BulkS3
import Foundation
import Testing

/// The AWS SigV4 test suite (a subset, see `Vectors/README.md`): canonical request, string to
/// sign and signature, for header signing and for query (presign) signing.
@Suite struct SigV4VectorTests {
  static let names: [String] = {
    guard let folder = Bundle.module.url(forResource: "Vectors", withExtension: nil) else { return [] }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return entries.filter { !$0.hasSuffix(".md") }.sorted()
  }()

  @Test func theSuiteIsThere() {
    #expect(Self.names.count == 21)
  }

  @Test(arguments: Self.names) func headerSigning(_ name: String) throws {
    let vector = try Vector(name: name)
    let signer = SigV4Signer(credentials: vector.credentials, region: vector.region, service: vector.service)
    let added = signer.signatureHeaders(
      method: vector.method, path: vector.path, query: vector.query, headers: vector.headers,
      payloadHash: vector.payloadHash, date: vector.date, contentHashHeader: vector.signBody
    )
    let unsigned = added.filter { $0.0 != "Authorization" }
    let canonical = SigV4Signer.canonicalRequest(
      method: vector.method, path: vector.path, query: vector.query,
      canonicalHeaders: SigV4Signer.canonicalHeaders(vector.headers + unsigned), payloadHash: vector.payloadHash
    )
    #expect(canonical == (try vector.file("header-canonical-request.txt")))
    #expect(signer.stringToSign(canonicalRequest: canonical, date: vector.date) == (try vector.file("header-string-to-sign.txt")))
    let authorization = try #require(added.first { $0.0 == "Authorization" }?.1)
    #expect(authorization.hasSuffix("Signature=\(try vector.file("header-signature.txt"))"))
  }

  @Test(arguments: Self.names) func querySigning(_ name: String) throws {
    let vector = try Vector(name: name)
    let signer = SigV4Signer(credentials: vector.credentials, region: vector.region, service: vector.service)
    let query = signer.presignedQuery(
      method: vector.method, path: vector.path, query: vector.query, headers: vector.headers, date: vector.date,
      expires: vector.expires, payloadHash: vector.payloadHash
    )
    let signature = try #require(query.first { $0.0 == "X-Amz-Signature" }?.1)
    #expect(signature == (try vector.file("query-signature.txt")), "\(name)")
  }
}

/// One case of the suite: `context.json` and `request.txt`.
struct Vector {
  let folder: URL
  let credentials: S3Credentials
  let region: String
  let service: String
  let date: Date
  let signBody: Bool
  let expires: Int
  let method: String
  let path: String
  let query: [(String, String)]
  let headers: [(String, String)]
  let payloadHash: String

  init(name: String) throws {
    self.folder = try #require(Bundle.module.url(forResource: "Vectors", withExtension: nil)).appendingPathComponent(name)
    struct Context: Decodable {
      struct Keys: Decodable {
        var access_key_id: String
        var secret_access_key: String
        var token: String?
      }
      var credentials: Keys
      var expiration_in_seconds: Int
      var region: String
      var service: String
      var sign_body: Bool
      var timestamp: String
    }
    let context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: self.folder.appendingPathComponent("context.json")))
    self.credentials = S3Credentials(
      accessKeyID: context.credentials.access_key_id,
      secretAccessKey: context.credentials.secret_access_key,
      sessionToken: context.credentials.token
    )
    self.region = context.region
    self.service = context.service
    self.date = try #require(ISO8601DateFormatter().date(from: context.timestamp))
    self.signBody = context.sign_body
    self.expires = context.expiration_in_seconds

    let text = try String(contentsOf: self.folder.appendingPathComponent("request.txt"), encoding: .utf8)
    let (head, body) = text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
    var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let requestLine = lines.removeFirst().split(separator: " ")
    self.method = String(requestLine[0])
    let target = String(requestLine[1])
    let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    self.path = String(parts[0])
    self.query =
      parts.count < 2
      ? []
      : parts[1].split(separator: "&").map { pair in
        let nameValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(nameValue[0]).removingPercentEncoding ?? String(nameValue[0])
        let value = nameValue.count > 1 ? (String(nameValue[1]).removingPercentEncoding ?? String(nameValue[1])) : ""
        return (name, value)
      }
    self.headers = lines.filter { !$0.isEmpty }.map { line in
      let colon = line.firstIndex(of: ":")!
      return (String(line[..<colon]), String(line[line.index(after: colon)...]))
    }
    self.payloadHash = SigV4Signer.sha256Hex(Data(body.utf8))
  }

  func file(_ name: String) throws -> String {
    try String(contentsOf: self.folder.appendingPathComponent(name), encoding: .utf8)
  }
}
