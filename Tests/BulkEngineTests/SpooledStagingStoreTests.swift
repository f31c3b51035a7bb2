import BulkCore
import BulkEngine
import BulkTestSupport
import CompressNIO
import Foundation
import NIOCore
import Testing

@Suite("SpooledStagingStore")
struct SpooledStagingStoreTests {
  static func job(
    _ contentType: ContentType = .csv,
    compression: Compression = .none,
    id: String = "bulk-job-spool"
  ) -> Job {
    Job(
      id: id,
      tenantID: "t",
      operation: .insert,
      object: "customers",
      contentType: contentType,
      compression: compression,
      createdAt: Date()
    )
  }

  static func bytes(_ text: String) -> UploadPayload { .bytes(Data(text.utf8)) }

  /// A staging store on the file system: each job's upload in `directory/<job>`, its results in
  /// `directory/.results`; by default it saves a checker checkpoint with every sync, as the tests
  /// of checkpoints need.
  static func store(
    _ directory: String,
    limits: Limits,
    directorySync: DirectorySync = .fsync,
    checkpointBytes: Int64 = 0
  ) throws -> SpooledStagingStore {
    let storage = try FileJobStorage(
      stagingDirectory: directory,
      resultsDirectory: "\(directory)/.results",
      directorySync: directorySync
    )
    return SpooledStagingStore(storage: storage, limits: limits, checkpointBytes: checkpointBytes)
  }

  /// The folder of a job's upload in a store made by `store`.
  static func folder(_ directory: String, _ jobID: String) -> URL {
    URL(fileURLWithPath: directory).appendingPathComponent(jobID, isDirectory: true)
  }

  static func expectError(_ code: BulkError.Code, containing fragment: String, _ body: () async throws -> Void) async {
    do {
      try await body()
      Issue.record("expected \(code)")
    } catch let error as BulkError {
      #expect(error.code == code, "\(error)")
      #expect(error.message.contains(fragment), "\(error.message)")
    } catch {
      Issue.record("expected BulkError \(code), got \(error)")
    }
  }

  static func gzip(_ data: Data) throws -> Data {
    var input = ByteBuffer(bytes: data)
    let compressed = try input.compress(with: .gzip())
    return Data(compressed.readableBytesView)
  }

  @Test("duplicates are skipped, overlaps lose their stored prefix, gaps are OUT_OF_RANGE")
  func byteOffsets() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      let job = Self.job()
      #expect(try await store.append(Self.bytes("id,name\n1,a\n"), at: 0, to: job) == .init(skipped: 0, storedSize: 12))
      // The same message again: a duplicate.
      #expect(
        try await store.append(Self.bytes("id,name\n1,a\n"), at: 0, to: job) == .init(skipped: 12, storedSize: 12)
      )
      // Overlapping: "1,a\n" is stored, "2,b\n" is new.
      #expect(try await store.append(Self.bytes("1,a\n2,b\n"), at: 8, to: job) == .init(skipped: 4, storedSize: 16))
      await Self.expectError(.outOfRange, containing: "resume from offset 16") {
        _ = try await store.append(Self.bytes("4,d\n"), at: 20, to: job)
      }
      await Self.expectError(.invalidArgument, containing: "negative") {
        _ = try await store.append(Self.bytes("x"), at: -1, to: job)
      }
      let progress = try await store.seal(job)
      #expect(progress.bytesUploaded == 16)
      let stored = try Data(contentsOf: Self.folder(directory, job.id).appendingPathComponent("upload"))
      #expect(String(decoding: stored, as: UTF8.self) == "id,name\n1,a\n2,b\n")
    }
  }

  @Test("the stored size comes back from disk after a restart")
  func recovery() async throws {
    try await withTemporaryDirectory { directory in
      let job = Self.job()
      do {
        let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
        _ = try await store.append(Self.bytes("id,name\n1,a\n"), at: 0, to: job)
        _ = try await store.sync(job)
      }
      let reopened = try SpooledStagingStoreTests.store(directory, limits: Limits())
      #expect(try await reopened.append(Self.bytes("1,a\n2,b\n"), at: 8, to: job) == .init(skipped: 4, storedSize: 16))
      #expect(try await reopened.sync(job).bytesUploaded == 16)
    }
  }

  @Test("record batches: offsets count records; columns must not change; partial frames are cut on recovery")
  func recordOffsets() async throws {
    try await withTemporaryDirectory { directory in
      let job = Self.job(.recordBatch)
      let rows: [[FieldValue]] = (0 ..< 5).map { [.integer(Int64($0)), .text("row-\($0)")] }
      do {
        let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
        #expect(
          try await store.append(.records(columns: ["id", "name"], rows: Array(rows[0 ..< 3])), at: 0, to: job)
            == .init(skipped: 0, storedSize: 3)
        )
        #expect(
          try await store.append(.records(columns: ["id", "name"], rows: Array(rows[0 ..< 3])), at: 0, to: job)
            == .init(skipped: 3, storedSize: 3)
        )
        #expect(
          try await store.append(.records(columns: ["id", "name"], rows: Array(rows[2 ..< 4])), at: 2, to: job)
            == .init(skipped: 1, storedSize: 4)
        )
        await Self.expectError(.outOfRange, containing: "resume from offset 4") {
          _ = try await store.append(.records(columns: ["id", "name"], rows: [rows[4]]), at: 5, to: job)
        }
        await Self.expectError(.invalidArgument, containing: "differ from the columns of the first batch") {
          _ = try await store.append(.records(columns: ["id", "email"], rows: [rows[4]]), at: 4, to: job)
        }
        #expect(try await store.sync(job).recordsReceived == 4)
      }
      // A crash in the middle of a frame leaves a partial frame behind.
      let records = URL(fileURLWithPath: directory).appendingPathComponent("\(job.id)/records")
      let handle = try FileHandle(forWritingTo: records)
      try handle.seekToEnd()
      try handle.write(contentsOf: Data([9, 0, 0, 0, 1, 2]))
      try handle.close()

      let reopened = try SpooledStagingStoreTests.store(directory, limits: Limits())
      #expect(
        try await reopened.append(.records(columns: ["id", "name"], rows: [rows[4]]), at: 4, to: job)
          == .init(skipped: 0, storedSize: 5)
      )
      await Self.expectError(.invalidArgument, containing: "differ") {
        _ = try await reopened.append(.records(columns: ["name", "id"], rows: [rows[4]]), at: 5, to: job)
      }
      let progress = try await reopened.seal(job)
      #expect(progress.recordsReceived == 5)
      #expect(progress.bytesUploaded == Int64(rows.reduce(0) { $0 + 4 + FieldValue.encodeRow($1).count }))
    }
  }

  @Test("a sealed upload refuses appends")
  func sealed() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      let job = Self.job()
      _ = try await store.append(Self.bytes("id\n"), at: 0, to: job)
      _ = try await store.seal(job)
      await Self.expectError(.failedPrecondition, containing: "closed") {
        _ = try await store.append(Self.bytes("1\n"), at: 3, to: job)
      }
    }
  }

  @Test("the job limit is RESOURCE_EXHAUSTED and stores nothing of the message")
  func uploadLimit() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits(maxUploadBytes: 10))
      let job = Self.job()
      _ = try await store.append(Self.bytes("id\n1\n"), at: 0, to: job)
      await Self.expectError(.resourceExhausted, containing: "over the job limit of 10 bytes") {
        _ = try await store.append(Self.bytes("2\n3\n4\n"), at: 5, to: job)
      }
      #expect(try await store.sync(job).bytesUploaded == 5)
    }
  }

  @Test("a bad CSV header is INVALID_ARGUMENT and nothing of it is stored")
  func badHeader() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      let job = Self.job()
      await Self.expectError(.invalidArgument, containing: "id") {
        _ = try await store.append(Self.bytes("id,name,id\n1,a,2\n"), at: 0, to: job)
      }
      #expect(try await store.sync(job).bytesUploaded == 0)
      _ = try await store.append(Self.bytes("id,name\n"), at: 0, to: job)
      #expect(try await store.sync(job).bytesUploaded == 8)
    }
  }

  @Test("gzip uploads are inflated as they arrive: corrupt data is refused at its offset")
  func corruptGzip() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      let job = Self.job(compression: .gzip)
      let csv = Data(("id,name\n" + (1 ... 2000).map { "\($0),name \($0)\n" }.joined()).utf8)
      var compressed = try Self.gzip(csv)
      let half = compressed.count / 2
      _ = try await store.append(.bytes(compressed.prefix(half)), at: 0, to: job)
      for index in half ..< min(half + 64, compressed.count - 8) {
        compressed[index] ^= 0xFF
      }
      await Self.expectError(.invalidArgument, containing: "corrupt") {
        _ = try await store.append(.bytes(compressed.suffix(from: half)), at: Int64(half), to: job)
      }
      #expect(try await store.sync(job).bytesUploaded == Int64(half))
    }
  }

  @Test("a gzip upload's records are counted through the inflater, also after a restart")
  func gzipRecords() async throws {
    try await withTemporaryDirectory { directory in
      let job = Self.job(compression: .gzip)
      let csv = Data(("id,name\n" + (1 ... 20000).map { "\($0),\"name, \($0)\"\n" }.joined()).utf8)
      let compressed = try Self.gzip(csv)
      do {
        let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
        var offset = 0
        while offset < compressed.count {
          let piece = compressed[offset ..< min(offset + 4096, compressed.count)]
          _ = try await store.append(.bytes(Data(piece)), at: Int64(offset), to: job)
          offset += piece.count
        }
        #expect(try await store.sync(job).recordsReceived > 0)
      }
      let reopened = try SpooledStagingStoreTests.store(directory, limits: Limits())
      let progress = try await reopened.seal(job)
      #expect(progress.bytesUploaded == Int64(compressed.count))
      #expect(progress.recordsReceived <= 20000)
    }
  }

  @Test("remove deletes the job's folder")
  func remove() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      let job = Self.job()
      _ = try await store.append(Self.bytes("id\n"), at: 0, to: job)
      try await store.remove(jobID: job.id)
      #expect(!FileManager.default.fileExists(atPath: Self.folder(directory, job.id).path))
    }
  }

  @Test("a sealed upload gives its file descriptor back, and sealing again reports the same")
  func sealReleasesDescriptors() async throws {
    try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      // Descriptors of this process open on files of this test's folder.
      func openHere() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { entry in
          let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)")
          return target?.hasPrefix(directory) == true
        }.count
      }
      var progress: [UploadProgress] = []
      for index in 0 ..< 20 {
        let job = Self.job(id: "bulk-job-seal\(index)")
        _ = try await store.append(Self.bytes("id\n1\n2\n"), at: 0, to: job)
        #expect(try openHere() == 1)
        progress.append(try await store.seal(job))
        #expect(try openHere() == 0)
        #expect(try await store.seal(job) == progress.last)
        #expect(try await store.sync(job) == progress.last)
      }
      #expect(progress.allSatisfy { $0 == UploadProgress(bytesUploaded: 7, recordsReceived: 2) })
    }
  }
}
