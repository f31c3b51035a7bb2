import BulkCore
import BulkEngine
import BulkFormats
import BulkS3
import BulkS3Storage
import BulkTestSupport
import Foundation
import Testing

/// Whole jobs through the real engine, their uploads and results kept in S3 (moto).
@Suite(.timeLimit(.minutes(2)))
struct S3StorageEngineTests {
  static let table = "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);"

  static func settings() -> EngineSettings {
    var settings = EngineSettings(workers: 2)
    settings.chunkRecords = 3
    return settings
  }

  static func csv(_ records: ClosedRange<Int>) -> String {
    records.map { "\($0),Name \($0),n\($0)@x\n" }.joined()
  }

  @Test(
    "a CSV and a gzip CSV insert job run on S3 storage: upload, close, JobComplete, results read back",
    arguments: [false, true]
  )
  func insertJob(gzip: Bool) async throws {
    let (client, http, bucket) = try await S3JobStorageTests.client()
    try await Self.shuttingDown([http]) {
      try await withTemporaryDirectory { directory in
        let storage = S3JobStorage(client: client, bucket: bucket, prefix: "deploy")
        let harness = try EngineHarness(directory: directory, settings: Self.settings(), storage: storage)
        try harness.sql(Self.table)
        let csv = "id,name,email\n" + Self.csv(1 ... 10) + "11,,bad\n"
        let bytes = gzip ? Data(try GzipDeflater.compress(Array(csv.utf8))) : Data(csv.utf8)
        let job = try await harness.finished(
          try await harness.submit(
            JobSpec(operation: .insert, object: "customers", compression: gzip ? Compression.gzip : Compression.none),
            [.bytes(bytes)]
          )
        )
        #expect(job.state == .jobComplete)
        #expect(job.numberRecordsProcessed == 11)
        #expect(job.numberRecordsFailed == 1)
        #expect(try harness.rows("SELECT count(*) FROM customers") == [["10"]])
        let successful = try await harness.results(job, .successful)
        #expect(successful.records == 10)
        #expect(successful.text.hasPrefix("_record,_created,id,name,email\n1,true,1,Name 1,n1@x\n"))
        #expect(try await harness.results(job, .failed).text.hasSuffix(",11,,bad\n"))
        let keys = try await S3JobStorageTests.onQueue { try client.listKeys(bucket: bucket, prefix: "deploy/") }
        #expect(keys.contains { $0.hasPrefix("deploy/upload/\(job.id)/") })
        #expect(keys.contains { $0.hasPrefix("deploy/results/\(job.id)/") })
      }
    }
  }

  @Test("an upload started through one instance resumes at the acknowledged offset through another")
  func uploadMovesBetweenInstances() async throws {
    let (firstClient, firstHTTP, bucket) = try await S3JobStorageTests.client()
    let (secondClient, secondHTTP, _) = try await S3JobStorageTests.client()
    try await Self.shuttingDown([firstHTTP, secondHTTP]) {
      try await withTemporaryDirectory { directory in
        let first = try EngineHarness(
          directory: directory,
          settings: Self.settings(),
          storage: S3JobStorage(client: firstClient, bucket: bucket, prefix: "shared")
        )
        try first.sql(Self.table)
        let csv = Data(("id,name,email\n" + Self.csv(1 ... 20)).utf8)
        let cut = csv.count / 2 + 7
        let opened = try await first.submit(
          JobSpec(operation: .insert, object: "customers"),
          [.bytes(csv[..<cut])],
          close: false
        )
        let acknowledged = try await first.service.job(id: opened.id, tenant: first.tenant).bytesUploaded
        #expect(acknowledged == Int64(cut))

        // The connection moves to another instance, with a storage of its own on the same bucket.
        let second = try EngineHarness(
          directory: directory,
          settings: Self.settings(),
          storage: S3JobStorage(client: secondClient, bucket: bucket, prefix: "shared")
        )
        let rest = AsyncThrowingStream<UploadPiece, any Error> { continuation in
          continuation.yield(
            UploadPiece(jobID: opened.id, offset: acknowledged, payload: .bytes(csv[Int(acknowledged)...]))
          )
          continuation.finish()
        }
        _ = try await second.service.upload(tenant: second.tenant, pieces: rest)
        _ = try await second.service.updateState(id: opened.id, to: .uploadComplete, tenant: second.tenant)
        let job = try await second.finished(try await second.service.job(id: opened.id, tenant: second.tenant))
        #expect(job.state == .jobComplete)
        #expect(job.bytesUploaded == Int64(csv.count))
        #expect(job.numberRecordsProcessed == 20)
        #expect(job.numberRecordsFailed == 0)
        #expect(try second.rows("SELECT count(*), count(DISTINCT id) FROM customers") == [["20", "20"]])
        #expect(try await second.results(job, .successful).records == 20)
      }
    }
  }

  /// Runs `body`, then shuts `transports` down, whether it threw or not.
  static func shuttingDown(_ transports: [S3HTTPTransport], _ body: () async throws -> Void) async throws {
    do {
      try await body()
    } catch {
      for transport in transports { try? await transport.shutdown() }
      throw error
    }
    for transport in transports { try await transport.shutdown() }
  }
}
