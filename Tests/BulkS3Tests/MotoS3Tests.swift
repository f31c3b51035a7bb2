import BulkS3
import BulkTestSupport
import Foundation
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Testing

/// Every operation against a real moto server on loopback that checks signatures.
///
/// moto's own signature check mishandles a `+` in a key, a `/` in a query value and presigned
/// URLs (boto3's requests fail the same way), so these tests avoid them; the signing of such
/// requests is covered by the AWS test vectors.
@Suite struct MotoS3Tests {
  /// A client of the shared moto server with the IAM user's key, and its bucket.
  static func client(
    encryption: S3Configuration.Encryption? = nil,
    partConcurrency: Int = 4,
    secret: String? = nil,
    body: (S3Client, String) async throws -> Void
  ) async throws {
    let moto = try await MotoServer.shared()
    let http = S3HTTPTransport()
    do {
      let client = try S3Client(
        configuration: S3Configuration(
          region: "us-east-1", endpoint: URL(string: moto.endpoint)!, encryption: encryption,
          retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10)), partSize: S3Configuration.minimumPartSize,
          partConcurrency: partConcurrency
        ),
        credentials: S3StaticCredentials(
          S3Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: secret ?? moto.secretAccessKey)
        ),
        http: http
      )
      let bucket = "spectra-\(UUID().uuidString.prefix(8).lowercased())"
      if secret == nil { try await client.createBucket(bucket) }
      try await body(client, bucket)
    } catch {
      try await http.shutdown()
      throw error
    }
    try await http.shutdown()
  }

  static func bytes(_ count: Int, seed: UInt8 = 0) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    for index in 0..<count { buffer.writeInteger(UInt8(truncatingIfNeeded: index &* 31 &+ Int(seed) &+ index / 251)) }
    return buffer
  }

  @Test func putGetHeadAndRangedGet() async throws {
    try await Self.client { client, bucket in
      let body = Self.bytes(100_000)
      let put = try await client.putObject(
        bucket: bucket, key: "dir/a b.bin", body: body, contentType: "application/octet-stream", metadata: ["job": "42"]
      )
      #expect(!put.etag.isEmpty)
      let object = try await client.getObject(bucket: bucket, key: "dir/a b.bin")
      #expect(object.body == body)
      let head = try await client.headObject(bucket: bucket, key: "dir/a b.bin")
      #expect(head.contentLength == 100_000)
      #expect(head.metadata["job"] == "42")
      #expect(head.checksumSHA256 == put.checksumSHA256)
      let range = try await client.getObject(bucket: bucket, key: "dir/a b.bin", range: 10...19)
      #expect(range.body == body.getSlice(at: 10, length: 10))
      #expect(range.info.contentRange == "bytes 10-19/100000")

      var streamed = ByteBuffer()
      let stream = try await client.streamObject(bucket: bucket, key: "dir/a b.bin", range: 50_000...99_999)
      for try await var chunk in stream.body { streamed.writeBuffer(&chunk) }
      #expect(streamed == body.getSlice(at: 50_000, length: 50_000))
    }
  }

  @Test func aMissingObjectIsATypedError() async throws {
    try await Self.client { client, bucket in
      let error = try await #require(throws: S3Error.self) { try await client.getObject(bucket: bucket, key: "absent") }
      #expect(error.code == "NoSuchKey")
      #expect(error.status == 404)
      #expect(error.operation == "GetObject")
      let head = try await #require(throws: S3Error.self) { try await client.headObject(bucket: bucket, key: "absent") }
      #expect(head.status == 404)
    }
  }

  @Test func aWrongSecretIsRefused() async throws {
    try await Self.client(secret: "not-the-secret") { client, bucket in
      let error = try await #require(throws: S3Error.self) {
        try await client.putObject(bucket: bucket, key: "k", body: ByteBuffer(string: "x"))
      }
      #expect(error.code == "SignatureDoesNotMatch")
      #expect(error.status == 403)
      #expect(!error.description.contains("not-the-secret"))
    }
  }

  @Test func multipartUploadWithParallelParts() async throws {
    try await Self.client(partConcurrency: 3) { client, bucket in
      let size = 4 * S3Configuration.minimumPartSize + 12_345
      let body = Self.bytes(size, seed: 7)
      // Handed over in uneven slices, as a network stream would.
      let slices = stride(from: 0, to: size, by: 1_000_003).map { body.getSlice(at: $0, length: min(1_000_003, size - $0))! }
      let etag = try await client.upload(bucket: bucket, key: "big.bin", from: slices.async)
      #expect(etag.hasSuffix("-5\""))
      let object = try await client.getObject(bucket: bucket, key: "big.bin")
      #expect(object.body == body)
      let boundary = S3Configuration.minimumPartSize
      let across = try await client.getObject(bucket: bucket, key: "big.bin", range: (boundary - 5)...(boundary + 5))
      #expect(across.body == body.getSlice(at: boundary - 5, length: 11))
    }
  }

  @Test func partsUploadedByHandAndCompleted() async throws {
    try await Self.client { client, bucket in
      let id = try await client.createMultipartUpload(bucket: bucket, key: "manual")
      let first = Self.bytes(S3Configuration.minimumPartSize, seed: 1)
      let second = ByteBuffer(string: "tail")
      // Parts may arrive out of order; a part sent again replaces the first copy.
      let two = try await client.uploadPart(bucket: bucket, key: "manual", uploadID: id, partNumber: 2, body: second)
      _ = try await client.uploadPart(bucket: bucket, key: "manual", uploadID: id, partNumber: 1, body: Self.bytes(S3Configuration.minimumPartSize))
      let one = try await client.uploadPart(bucket: bucket, key: "manual", uploadID: id, partNumber: 1, body: first)
      try await client.completeMultipartUpload(bucket: bucket, key: "manual", uploadID: id, parts: [two, one])
      var expected = first
      expected.writeString("tail")
      #expect(try await client.getObject(bucket: bucket, key: "manual").body == expected)
    }
  }

  struct SourceFailure: Error {}

  @Test func aFailedUploadIsAborted() async throws {
    try await Self.client { client, bucket in
      let part = Self.bytes(S3Configuration.minimumPartSize)
      let source = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
        continuation.yield(part)
        continuation.yield(part)
        continuation.yield(part)
        continuation.finish(throwing: SourceFailure())
      }
      await #expect(throws: SourceFailure.self) { try await client.upload(bucket: bucket, key: "broken", from: source) }
      let left = try await client.listMultipartUploads(bucket: bucket, prefix: "broken")
      #expect(left.isEmpty)
      await #expect(throws: S3Error.self) { try await client.headObject(bucket: bucket, key: "broken") }
    }
  }

  @Test func listingPagesAndBatchDeletesPastOneThousand() async throws {
    try await Self.client { client, bucket in
      let keys = (0..<1_005).map { String(format: "k%05d", $0) }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for start in stride(from: 0, to: keys.count, by: 126) {
          group.addTask {
            for key in keys[start..<min(start + 126, keys.count)] {
              try await client.putObject(bucket: bucket, key: key, body: ByteBuffer(string: key))
            }
          }
        }
        try await group.waitForAll()
      }
      try await client.putObject(bucket: bucket, key: "other", body: ByteBuffer(string: "x"))

      let first = try await client.listObjectsPage(bucket: bucket, prefix: "k", maxKeys: 400)
      #expect(first.objects.count == 400)
      #expect(first.objects.first?.key == "k00000")
      let token = try #require(first.nextContinuationToken)
      let second = try await client.listObjectsPage(bucket: bucket, prefix: "k", continuationToken: token, maxKeys: 400)
      #expect(second.objects.first?.key == "k00400")
      #expect((try await client.listObjects(bucket: bucket, prefix: "k")).map(\.key) == keys)
      #expect((try await client.listObjects(bucket: bucket, prefix: "k", pageSize: 1000)).count == 1_005)

      let failures = try await client.deleteObjects(bucket: bucket, keys: keys)
      #expect(failures.isEmpty)
      #expect(try await client.listObjects(bucket: bucket).map(\.key) == ["other"])
    }
  }

  @Test func serverSideEncryptionS3() async throws {
    try await Self.client(encryption: .s3) { client, bucket in
      try await client.putObject(bucket: bucket, key: "sse", body: ByteBuffer(string: "secret data"))
      #expect(try await client.headObject(bucket: bucket, key: "sse").serverSideEncryption == "AES256")
      try await client.upload(bucket: bucket, key: "sse-multi", from: [Self.bytes(S3Configuration.minimumPartSize + 1)].async)
      #expect(try await client.headObject(bucket: bucket, key: "sse-multi").serverSideEncryption == "AES256")
    }
  }

  @Test func serverSideEncryptionKMS() async throws {
    let key = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-0000-4000-8000-000000000001"
    try await Self.client(encryption: .kms(keyID: key)) { client, bucket in
      try await client.putObject(bucket: bucket, key: "kms", body: ByteBuffer(string: "secret data"))
      let head = try await client.headObject(bucket: bucket, key: "kms")
      #expect(head.serverSideEncryption == "aws:kms")
      #expect(head.kmsKeyID == key)
    }
  }

  /// On a moto that checks no signature (see the suite's note): the URL's form and routing.
  @Test func presignedURLWorksWithoutCredentials() async throws {
    let moto = try await MotoServer.launch(authentication: false)
    defer { moto.stop() }
    let http = S3HTTPTransport()
    do {
      let client = try S3Client(
        configuration: S3Configuration(region: "us-east-1", endpoint: URL(string: moto.endpoint)!),
        credentials: S3StaticCredentials(S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")),
        http: http
      )
      let bucket = "presign-bucket"
      try await client.createBucket(bucket)
      try await client.putObject(bucket: bucket, key: "shared file.txt", body: ByteBuffer(string: "hello"))
      let url = try await client.presignedURL(method: "GET", bucket: bucket, key: "shared file.txt", expires: 60)
      let response = try await http.send(method: .GET, url: url, headers: [], timeout: .seconds(10))
      #expect(response.status == 200)
      #expect(String(buffer: response.body) == "hello")
    } catch {
      try await http.shutdown()
      throw error
    }
    try await http.shutdown()
  }
}

extension Array where Element: Sendable {
  /// The elements as an async sequence.
  var async: AsyncStream<Element> {
    AsyncStream { continuation in
      for element in self { continuation.yield(element) }
      continuation.finish()
    }
  }
}
