import BulkCore
import BulkS3
import BulkS3Storage
import BulkTestSupport
import Foundation
import NIOCore
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `S3JobStorage` against a real moto server on loopback.
@Suite struct S3JobStorageTests {
  /// The moto server the tests of this process share. It checks no signatures: with
  /// authentication on, moto refuses every ListObjectsV2 whose prefix holds a `/`
  /// (getmoto/moto#5948), and this storage lists `<prefix>/<area>/<job>/`.
  static let moto = Task { try await MotoServer.launch(authentication: false) }

  /// A client of the shared moto server, its transport (to shut down) and a new bucket.
  static func client() async throws -> (S3Client, S3HTTPTransport, String) {
    let moto = try await Self.moto.value
    let http = S3HTTPTransport()
    let client = try S3Client(
      configuration: S3Configuration(
        region: "us-east-1",
        endpoint: URL(string: moto.endpoint)!,
        retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10))
      ),
      credentials: S3StaticCredentials(
        S3Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)
      ),
      http: http
    )
    let bucket = "spectra-\(UUID().uuidString.prefix(8).lowercased())"
    try await client.createBucket(bucket)
    return (client, http, bucket)
  }

  /// Runs `body` with a storage on a new bucket, off the concurrency pool as the engine calls it.
  static func withStorage(
    prefix: String = "deploy/one",
    _ body: @escaping @Sendable (S3Client, String) throws -> Void
  ) async throws {
    let (client, http, bucket) = try await Self.client()
    do {
      try await onQueue { try body(client, bucket) }
    } catch {
      try await http.shutdown()
      throw error
    }
    try await http.shutdown()
  }

  /// Runs `body` on a dispatch queue of its own and awaits it.
  static func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue(label: "s3-storage-test").async {
        continuation.resume(with: Result { try body() })
      }
    }
  }

  static func bytes(_ count: Int, seed: Int = 0) -> Data {
    Data((0 ..< count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &+ $0 / 251) })
  }

  /// Deletes the empty `bucket` with a plain request (the client has no DeleteBucket; this moto
  /// checks no signatures).
  static func deleteBucket(_ bucket: String) throws {
    let moto = try blocking { try await Self.moto.value }
    var request = URLRequest(url: URL(string: "\(moto.endpoint)/\(bucket)")!)
    request.httpMethod = "DELETE"
    let status = try blocking { [request] in
      let (_, response) = try await URLSession.shared.data(for: request)
      return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
    #expect(status == 204)
  }

  static let upload = StorageKey(jobID: "job-1", area: .upload, name: "upload.data")

  @Test func appendsReadAcrossSyncs() async throws {
    try await Self.withStorage { client, bucket in
      let storage = S3JobStorage(client: client, bucket: bucket, prefix: "deploy/one")
      let object = try storage.openAppendable(Self.upload)
      #expect(object.size == 0)
      let whole = Self.bytes(300_000)
      for piece in [0 ..< 1_000, 1_000 ..< 1_001, 1_001 ..< 200_000, 200_000 ..< 300_000] {
        try object.append(whole[piece])
        try object.sync()
      }
      try object.append(Self.bytes(10, seed: 7))
      #expect(object.size == 300_010)
      #expect(try object.read(at: 999, maxLength: 3) == whole[999 ..< 1_002])
      #expect(try object.read(at: 150_000, maxLength: 100_000) == whole[150_000 ..< 250_000])
      #expect(try object.read(at: 299_995, maxLength: 100) == whole[299_995...] + Self.bytes(10, seed: 7))
      #expect(try storage.size(of: Self.upload) == 300_000)
      #expect(try storage.read(Self.upload, range: nil) == whole)
      #expect(try storage.read(Self.upload, range: 199_990 ..< 200_010) == whole[199_990 ..< 200_010])
      #expect(try storage.read(Self.upload, range: 299_990 ..< 400_000) == whole[299_990...])
      let keys = try client.listKeys(bucket: bucket, prefix: "deploy/one/upload/job-1/upload.data/")
      #expect(
        keys
          == (["00000000000000000000", "00000000000000001000", "00000000000000001001", "00000000000000200000"]).map {
            "deploy/one/upload/job-1/upload.data/\($0)"
          }
      )
    }
  }

  @Test func anotherInstanceRecoversTheSizeAndContinues() async throws {
    try await Self.withStorage { client, bucket in
      let whole = Self.bytes(50_000)
      let first = try S3JobStorage(client: client, bucket: bucket, prefix: "p").openAppendable(Self.upload)
      try first.append(whole[0 ..< 20_000])
      try first.sync()
      try first.append(whole[20_000 ..< 30_000])
      try first.sync()
      try first.append(Self.bytes(500, seed: 3))  // never synced: not acknowledged, not kept

      let other = S3JobStorage(client: client, bucket: bucket, prefix: "p")
      let second = try other.openAppendable(Self.upload)
      #expect(second.size == 30_000)
      try second.append(whole[30_000...])
      try second.sync()
      try second.seal()
      #expect(try other.read(Self.upload, range: nil) == whole)
      #expect(try other.list(jobID: "job-1", area: .upload) == [StoredObject(key: Self.upload, size: 50_000)])
    }
  }

  @Test func truncateThenAppend() async throws {
    try await Self.withStorage { client, bucket in
      let storage = S3JobStorage(client: client, bucket: bucket, prefix: "")
      let whole = Self.bytes(40_000)
      let object = try storage.openAppendable(Self.upload)
      for piece in [0 ..< 10_000, 10_000 ..< 20_000, 20_000 ..< 30_000] {
        try object.append(whole[piece])
        try object.sync()
      }
      try object.append(whole[30_000 ..< 35_000])
      try object.truncate(to: 32_000)  // within the pending bytes
      #expect(object.size == 32_000)
      try object.truncate(to: 15_000)  // inside the second segment
      #expect(object.size == 15_000)
      #expect(try storage.size(of: Self.upload) == 15_000)
      let replacement = Self.bytes(5_000, seed: 9)
      try object.append(replacement)
      try object.sync()
      let expected = whole[0 ..< 15_000] + replacement
      #expect(try storage.read(Self.upload, range: nil) == expected)
      let reopened = try storage.openAppendable(Self.upload)
      #expect(reopened.size == 20_000)
      #expect(try reopened.read(at: 0, maxLength: 30_000) == expected)
      #expect(throws: S3JobStorageError.self) { try reopened.truncate(to: 20_001) }
      try reopened.truncate(to: 0)
      #expect(try storage.size(of: Self.upload) == nil)
      #expect(try client.listKeys(bucket: bucket, prefix: "upload/").isEmpty)
    }
  }

  @Test("ranges read after a truncate and new appends are the new bytes, not the segments read before")
  func readsAfterTruncateAreFresh() async throws {
    try await Self.withStorage { client, bucket in
      let storage = S3JobStorage(client: client, bucket: bucket, prefix: "")
      let whole = Self.bytes(30_000)
      let object = try storage.openAppendable(Self.upload)
      for piece in [0 ..< 10_000, 10_000 ..< 20_000, 20_000 ..< 30_000] {
        try object.append(whole[piece])
        try object.sync()
      }
      // Read piece by piece, as a job's chunks are cut: the listing is remembered.
      #expect(try storage.read(Self.upload, range: 0 ..< 4_096) == whole[0 ..< 4_096])
      #expect(try storage.read(Self.upload, range: 12_000 ..< 25_000) == whole[12_000 ..< 25_000])
      // Cut inside the second segment, then longer bytes of another content from there.
      try object.truncate(to: 15_000)
      let replacement = Self.bytes(12_000, seed: 4)
      try object.append(replacement)
      try object.sync()
      let expected = whole[0 ..< 15_000] + replacement
      #expect(try storage.read(Self.upload, range: 12_000 ..< 25_000) == expected[12_000 ..< 25_000])
      #expect(try storage.read(Self.upload, range: 0 ..< 27_000) == expected)
      // Cut to less than was read before: what is gone is not served.
      try object.truncate(to: 5_000)
      #expect(try storage.read(Self.upload, range: 0 ..< 5_000) == whole[0 ..< 5_000])
      #expect(try storage.read(Self.upload, range: 4_000 ..< 9_000) == whole[4_000 ..< 5_000])
    }
  }

  @Test func unchainedSegmentsAreDroppedOnOpen() async throws {
    try await Self.withStorage { client, bucket in
      let storage = S3JobStorage(client: client, bucket: bucket, prefix: "p")
      let object = try storage.openAppendable(Self.upload)
      try object.append(Self.bytes(100))
      try object.sync()
      // What a truncate cut short by a crash may leave: a segment past a gap.
      try client.put(bucket: bucket, key: storage.segmentKey(Self.upload, offset: 200), Self.bytes(50, seed: 1))
      let reopened = try storage.openAppendable(Self.upload)
      #expect(reopened.size == 100)
      try reopened.append(Self.bytes(100, seed: 2))
      try reopened.sync()
      #expect(try storage.size(of: Self.upload) == 200)
      #expect(try storage.read(Self.upload, range: nil) == Self.bytes(100) + Self.bytes(100, seed: 2))
    }
  }

  @Test func sealedObjectsTakeNoAppends() async throws {
    try await Self.withStorage { client, bucket in
      let storage = S3JobStorage(client: client, bucket: bucket, prefix: "p")
      let object = try storage.openAppendable(Self.upload)
      try object.append(Self.bytes(10))
      try object.seal()
      #expect(try storage.read(Self.upload, range: nil) == Self.bytes(10))
      #expect(throws: S3JobStorageError.self) { try object.append(Self.bytes(1)) }
    }
  }

  @Test func wholeObjectsListDeleteAndRemove() async throws {
    try await Self.withStorage { client, bucket in
      let storage = S3JobStorage(client: client, bucket: bucket, prefix: "p")
      let chunk = StorageKey(jobID: "job-2", area: .results, name: "chunk-1")
      let body = Self.bytes(70_000)
      try storage.write(body, to: chunk)
      try storage.write(Data(), to: StorageKey(jobID: "job-2", area: .results, name: "settled"))
      try storage.write(Self.bytes(3), to: .checkpoint(of: "job-2"))
      #expect(try storage.read(chunk, range: nil) == body)
      #expect(try storage.read(chunk, range: 100 ..< 200) == body[100 ..< 200])
      #expect(try storage.read(chunk, range: 69_990 ..< 80_000) == body[69_990...])
      #expect(try storage.read(chunk, range: 70_000 ..< 80_000) == Data())
      #expect(try storage.read(StorageKey(jobID: "job-2", area: .results, name: "none"), range: nil) == nil)
      #expect(try storage.size(of: chunk) == 70_000)
      #expect(try storage.size(of: StorageKey(jobID: "job-2", area: .results, name: "none")) == nil)
      #expect(
        Set(try storage.list(jobID: "job-2", area: .results)) == [
          StoredObject(key: chunk, size: 70_000),
          StoredObject(key: StorageKey(jobID: "job-2", area: .results, name: "settled"), size: 0),
        ]
      )
      #expect(
        try storage.list(jobID: "job-2", area: .checkpoint) == [StoredObject(key: .checkpoint(of: "job-2"), size: 3)]
      )
      try storage.delete(chunk)
      try storage.delete(chunk)
      #expect(try storage.list(jobID: "job-2", area: .results).map(\.key.name) == ["settled"])
      try storage.remove(jobID: "job-2", area: .results)
      #expect(try storage.list(jobID: "job-2", area: .results).isEmpty)
      #expect(try storage.list(jobID: "job-2", area: .checkpoint).count == 1)
      #expect(try storage.availableBytes() == Int64.max)
    }
  }

  @Test func aFailedPutIsAnErrorAndLosesNothingSynced() async throws {
    try await Self.withStorage { client, bucket in
      let storage = S3JobStorage(client: client, bucket: bucket, prefix: "p")
      let object = try storage.openAppendable(Self.upload)
      try object.append(Self.bytes(1_000))
      try object.sync()
      // An object opened in a bucket that then goes away: its segment's PUT fails (NoSuchBucket).
      let gone = bucket + "-gone"
      try blocking { try await client.createBucket(gone) }
      let refused = try S3JobStorage(client: client, bucket: gone, prefix: "p").openAppendable(Self.upload)
      try Self.deleteBucket(gone)
      try refused.append(Self.bytes(10))
      #expect(throws: S3Error.self) { try refused.sync() }
      #expect(refused.size == 10)
      let missing = S3JobStorage(client: client, bucket: bucket + "-missing", prefix: "p")
      #expect(throws: S3Error.self) { try missing.write(Self.bytes(10), to: .checkpoint(of: "job-1")) }
      #expect(throws: S3Error.self) { try missing.openAppendable(Self.upload) }
      #expect(try S3JobStorage(client: client, bucket: bucket, prefix: "p").openAppendable(Self.upload).size == 1_000)
      #expect(try storage.read(Self.upload, range: nil) == Self.bytes(1_000))
    }
  }
}

extension S3Client {
  /// The keys under `prefix`, sorted.
  func listKeys(bucket: String, prefix: String) throws -> [String] {
    try blocking { try await self.listObjects(bucket: bucket, prefix: prefix).map(\.key).sorted() }
  }

  /// Stores `data` as `key`.
  func put(bucket: String, key: String, _ data: Data) throws {
    try blocking { _ = try await self.putObject(bucket: bucket, key: key, body: ByteBuffer(bytes: data)) }
  }
}
