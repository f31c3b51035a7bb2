import BulkCore
import BulkEngine
import BulkFormats
import BulkTestSupport
import Foundation
import NIOCore
import Testing

@Suite("Upload spool, checker checkpoints")
struct UploadCheckpointTests {
  @Test("after a restart the upload checker starts from its checkpoint, not from the upload's first byte")
  func restartResumesFromCheckpoint() async throws {
    try await withTemporaryDirectory { directory in
      let job = SpooledStagingStoreTests.job(id: "bulk-job-checkpoint")
      let text = "id,name\n" + (1 ... 200_000).map { "\($0),name\($0)\n" }.joined() + "200001,part"
      let stored = Data(text.utf8)
      do {
        let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
        _ = try await store.append(.bytes(stored), at: 0, to: job)
        #expect(try await store.sync(job).recordsReceived == 200_000)
      }
      // Join two records early in the upload: a checker that re-read the stored bytes would
      // count one record fewer.
      let upload = URL(fileURLWithPath: directory).appendingPathComponent("\(job.id)/upload")
      let lineFeed = try #require(stored[1000...].firstIndex(of: UInt8(ascii: "\n")))
      let handle = try FileHandle(forUpdating: upload)
      try handle.seek(toOffset: UInt64(lineFeed))
      try handle.write(contentsOf: Data(",".utf8))
      try handle.close()

      let restarted = try SpooledStagingStoreTests.store(directory, limits: Limits())
      #expect(try await restarted.sync(job).recordsReceived == 200_000)
      // The partial record and the ones after it are counted as before.
      _ = try await restarted.append(.bytes(Data("ial\n200002,b\n".utf8)), at: Int64(stored.count), to: job)
      #expect(try await restarted.sync(job).recordsReceived == 200_002)

      // Without a checkpoint the checker replays the upload, and sees the joined records.
      try FileManager.default.removeItem(
        at: URL(fileURLWithPath: directory).appendingPathComponent(".checkpoints/\(job.id).checkpoint")
      )
      let replayed = try SpooledStagingStoreTests.store(directory, limits: Limits())
      #expect(try await replayed.sync(job).recordsReceived == 200_001)
    }
  }

  @Test("a checkpoint is saved once the upload grew checkpointBytes past the last one: none for a small upload")
  func checkpointInterval() async throws {
    try await withTemporaryDirectory { directory in
      let job = SpooledStagingStoreTests.job(id: "bulk-job-interval")
      let checkpoint = URL(fileURLWithPath: directory).appendingPathComponent(".checkpoints/\(job.id).checkpoint")
      func saved() throws -> StreamCheckpoint? {
        guard FileManager.default.fileExists(atPath: checkpoint.path) else { return nil }
        return StreamCheckpoint(decoding: ByteBuffer(bytes: try Data(contentsOf: checkpoint)))
      }
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits(), checkpointBytes: 1000)
      let piece = (0 ..< 60).map { "\($0),name\($0)\n" }.joined()  // 580 bytes
      var offset = 0
      func send(_ text: String) async throws -> Int64 {
        _ = try await store.append(.bytes(Data(text.utf8)), at: Int64(offset), to: job)
        offset += text.utf8.count
        return try await store.sync(job).recordsReceived
      }
      #expect(try await send("id,name\n" + piece) == 60)
      #expect(try saved() == nil)
      // Past 1,000 bytes: the checkpoint is where the checker stands.
      #expect(try await send(piece) == 120)
      let first = try #require(try saved())
      #expect(first.storedOffset == Int64(offset))
      // Not again until the upload grew 1,000 bytes past it.
      #expect(try await send(piece) == 180)
      #expect(try saved() == first)
      #expect(try await send(piece) == 240)
      #expect(try saved()?.storedOffset == Int64(offset))
      // A restart replays only what came after the last checkpoint, and counts the same.
      let restarted = try SpooledStagingStoreTests.store(directory, limits: Limits(), checkpointBytes: 1000)
      #expect(try await restarted.sync(job).recordsReceived == 240)
    }
  }
}

/// The uploads whose checker checkpoints hold more than CSV's: JSON, gzip, several gzip members.
enum CheckpointedUpload: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case jsonLines
  case jsonArray
  case gzipCSV
  case gzipJSON
  case gzipMembers

  /// Records in an upload: enough inflated bytes (over 1 MiB) for the inflater's resume points.
  static let records = 150_000

  var testDescription: String { self.rawValue }

  var contentType: ContentType { self == .jsonLines || self == .jsonArray || self == .gzipJSON ? .json : .csv }

  var compression: Compression { self == .jsonLines || self == .jsonArray ? .none : .gzip }

  var job: Job { SpooledStagingStoreTests.job(self.contentType, compression: self.compression, id: "bulk-job-\(self)") }

  var spec: JobSpec {
    JobSpec(operation: .insert, object: "items", contentType: self.contentType, compression: self.compression)
  }

  /// The upload as stored. Every 10,000th record has no name (NOT NULL refuses it). With
  /// `badRecord`, that record breaks the JSON structure, or (gzip CSV) the compressed bytes are
  /// damaged at 90% of the stream.
  func body(badRecord: Int? = nil) throws -> Data {
    let count = Self.records
    func name(_ id: Int) -> String { id % 10_000 == 0 ? "" : "name \(id)" }
    switch self {
    case .jsonLines, .gzipJSON:
      let text = (1 ... count).map { id in
        let value = id % 10_000 == 0 ? "null" : "\"\(name(id))\""
        return "{\"id\":\(id),\"name\":\(value)}" + (id == badRecord ? " 7\n" : "\n")
      }.joined()
      return self == .gzipJSON ? try SpooledStagingStoreTests.gzip(Data(text.utf8)) : Data(text.utf8)
    case .jsonArray:
      let records = (1 ... count).map { id in
        let value = id % 10_000 == 0 ? "null" : "\"\(name(id))\""
        return (id == badRecord ? "\n" : ",\n") + "{\"id\":\(id),\"name\":\(value)}"
      }
      return Data(("[" + records.joined().dropFirst(2) + "\n]\n").utf8)
    case .gzipCSV, .gzipMembers:
      let lines = (1 ... count).map { "\($0),\(name($0))\n" }
      let members = self == .gzipMembers ? 3 : 1
      let size = count / members
      var compressed = Data()
      for member in 0 ..< members {
        let text = (member == 0 ? "id,name\n" : "") + lines[member * size ..< (member + 1) * size].joined()
        compressed += try SpooledStagingStoreTests.gzip(Data(text.utf8))
      }
      if badRecord != nil {
        let start = compressed.count * 9 / 10
        for index in start ..< start + 32 {
          compressed[index] ^= 0x5A
        }
      }
      return compressed
    }
  }
}

@Suite("Upload spool, checkpoints of JSON and gzip uploads")
struct UploadCheckpointFormatsTests {
  private static func checkpointURL(_ directory: String, _ job: Job) -> URL {
    URL(fileURLWithPath: directory).appendingPathComponent(".checkpoints/\(job.id).checkpoint")
  }

  private static func checkpoint(_ directory: String, _ job: Job) throws -> StreamCheckpoint {
    try #require(
      StreamCheckpoint(decoding: ByteBuffer(bytes: try Data(contentsOf: Self.checkpointURL(directory, job))))
    )
  }

  /// Writes 0xFF over the stored upload's bytes in `range`.
  private static func overwrite(_ directory: String, _ job: Job, _ range: Range<Int64>) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: directory).appendingPathComponent("\(job.id)/upload"))
    try handle.seek(toOffset: UInt64(range.lowerBound))
    try handle.write(contentsOf: Data(repeating: 0xFF, count: range.count))
    try handle.close()
  }

  /// Uploads `body` in two appends cut at `cut`, with a restart between them when `restart` is
  /// set; returns the records counted, or the error.
  private static func upload(
    _ body: Data,
    cut: Int,
    job: Job,
    limits: Limits = Limits(),
    restart: Bool
  ) async throws -> Result<Int64, BulkError> {
    try await withTemporaryDirectory { directory in
      var store = try SpooledStagingStoreTests.store(directory, limits: limits)
      do {
        _ = try await store.append(.bytes(body.prefix(cut)), at: 0, to: job)
        _ = try await store.sync(job)
        if restart {
          store = try SpooledStagingStoreTests.store(directory, limits: limits)
        }
        _ = try await store.append(.bytes(body.suffix(from: cut)), at: Int64(cut), to: job)
        return .success(try await store.seal(job).recordsReceived)
      } catch let error as BulkError {
        return .failure(error)
      }
    }
  }

  @Test(
    "a restart takes the checker up at its checkpoint without reading the bytes before it",
    arguments: CheckpointedUpload.allCases
  )
  func resumesWithoutEarlierBytes(upload: CheckpointedUpload) async throws {
    try await withTemporaryDirectory { directory in
      let job = upload.job
      let body = try upload.body()
      let cut = body.count * 7 / 10
      let counted: Int64
      do {
        let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
        _ = try await store.append(.bytes(body.prefix(cut)), at: 0, to: job)
        counted = try await store.sync(job).recordsReceived
      }
      let checkpoint = try Self.checkpoint(directory, job)
      #expect((checkpoint.gzip != nil) == (upload.compression == .gzip))
      #expect(checkpoint.storedOffset > Int64(cut) / 2 && checkpoint.storedOffset <= Int64(cut))
      #expect(checkpoint.storedPrefixLength == 0)
      if upload == .gzipMembers {
        // Taken up inside a later member.
        let gzip = try #require(checkpoint.gzip)
        #expect(gzip.memberBytes < gzip.inflatedOffset)
      }
      // Everything before the checkpoint becomes garbage: a checker that read it would fail.
      try Self.overwrite(directory, job, 0 ..< checkpoint.storedOffset)

      let restarted = try SpooledStagingStoreTests.store(directory, limits: Limits())
      #expect(try await restarted.sync(job).recordsReceived == counted)
      _ = try await restarted.append(.bytes(body.suffix(from: cut)), at: Int64(cut), to: job)
      #expect(try await restarted.seal(job).recordsReceived == Int64(CheckpointedUpload.records))
    }
  }

  @Test(
    "a damaged or unknown checkpoint is not used: the checker replays the upload",
    arguments: CheckpointedUpload.allCases
  )
  func damagedCheckpointReplays(upload: CheckpointedUpload) async throws {
    try await withTemporaryDirectory { directory in
      let job = upload.job
      let body = try upload.body()
      let cut = body.count * 7 / 10
      let counted: Int64
      do {
        let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
        _ = try await store.append(.bytes(body.prefix(cut)), at: 0, to: job)
        counted = try await store.sync(job).recordsReceived
      }
      let checkpoint = try Self.checkpoint(directory, job)
      let garbage = upload.compression == .gzip ? "the gzip stream is corrupt at byte 2" : "unexpected 0xFF at byte 0"
      var damaged = try Data(contentsOf: Self.checkpointURL(directory, job))
      damaged[damaged.count / 2] ^= 0x10
      try damaged.write(to: Self.checkpointURL(directory, job))

      let replayed = try SpooledStagingStoreTests.store(directory, limits: Limits())
      #expect(try await replayed.sync(job).recordsReceived == counted)
      // It replayed: garbage before the checkpoint's offset is now seen.
      try Self.overwrite(directory, job, 0 ..< checkpoint.storedOffset)
      await SpooledStagingStoreTests.expectError(.invalidArgument, containing: garbage) {
        _ = try await SpooledStagingStoreTests.store(directory, limits: Limits()).sync(job)
      }
      // A checkpoint in the format of an older server (JSON) is not used either.
      try Data("{\"headerEnd\":8,\"offset\":100,\"records\":3}".utf8).write(to: Self.checkpointURL(directory, job))
      await SpooledStagingStoreTests.expectError(.invalidArgument, containing: garbage) {
        _ = try await SpooledStagingStoreTests.store(directory, limits: Limits()).sync(job)
      }
    }
  }

  @Test("after a resume counts and errors are those of an upload read whole", arguments: CheckpointedUpload.allCases)
  func laterErrorsMatch(upload: CheckpointedUpload) async throws {
    let bad = try upload.body(badRecord: CheckpointedUpload.records * 9 / 10)
    let cut = bad.count * 7 / 10
    let whole = try await Self.upload(bad, cut: cut, job: upload.job, restart: false)
    let resumed = try await Self.upload(bad, cut: cut, job: upload.job, restart: true)
    let wholeError = try #require(whole.failure)
    #expect(resumed.failure?.code == wholeError.code)
    #expect(resumed.failure?.message == wholeError.message)
    let place =
      switch upload {
      case .jsonArray: "after record 134999"
      case .jsonLines, .gzipJSON: "record 135000"
      case .gzipCSV, .gzipMembers: "corrupt"
      }
    #expect(wholeError.message.contains(place))

    let good = try upload.body()
    let counts = try await Self.upload(good, cut: good.count * 7 / 10, job: upload.job, restart: true)
    #expect(counts.success == Int64(CheckpointedUpload.records))
  }

  @Test(
    "the inflate limit counts the bytes inflated before a resume",
    arguments: CheckpointedUpload.allCases.filter { $0.compression == .gzip }
  )
  func inflateLimitAcrossResume(upload: CheckpointedUpload) async throws {
    let body = try upload.body()
    var total = 0
    try GzipInflater().inflate(ByteBuffer(bytes: body)) { total += $0.readableBytes }
    let limits = Limits(maxInflatedBytes: Int64(total) * 85 / 100)
    let cut = body.count * 7 / 10
    let whole = try await Self.upload(body, cut: cut, job: upload.job, limits: limits, restart: false)
    let resumed = try await Self.upload(body, cut: cut, job: upload.job, limits: limits, restart: true)
    let wholeError = try #require(whole.failure)
    let resumedError = try #require(resumed.failure)
    #expect(wholeError.code == .resourceExhausted && resumedError.code == .resourceExhausted)
    let message = "the gzip stream inflates to more than \(limits.maxInflatedBytes) bytes"
    #expect(wholeError.message.hasPrefix(message) && resumedError.message.hasPrefix(message))
  }

  @Test(
    "a job whose upload was taken up after a restart ends as one uploaded without a restart",
    arguments: CheckpointedUpload.allCases
  )
  func jobResultMatches(upload: CheckpointedUpload) async throws {
    let body = try upload.body()
    let cut = body.count * 7 / 10
    var settings = EngineSettings(workers: 2)
    settings.retryDelay = .milliseconds(1)
    let table = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    func outcome(_ harness: EngineHarness, _ job: Job) async throws -> [String] {
      let done = try await harness.finished(job)
      return [
        "\(done.state)", "\(done.numberRecordsProcessed)", "\(done.numberRecordsFailed)",
        "\(try await harness.results(done, .successful).records)", try await harness.results(done, .failed).text,
        try harness.rows("SELECT count(*), sum(id) FROM items").description,
      ]
    }
    let whole = try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: settings)
      try harness.sql(table)
      return try await outcome(harness, try await harness.submit(upload.spec, [.bytes(body)]))
    }
    let resumed = try await withTemporaryDirectory { directory in
      let first = try EngineHarness(directory: directory, settings: settings, checkpointBytes: 0)
      try first.sql(table)
      let job = try await first.submit(upload.spec, [.bytes(body.prefix(cut))], close: false)
      #expect(FileManager.default.fileExists(atPath: "\(directory)/staging/.checkpoints/\(job.id).checkpoint"))
      // A second process on the same data takes the upload up and closes it.
      let second = try EngineHarness(directory: directory, settings: settings, checkpointBytes: 0)
      let rest = AsyncThrowingStream<UploadPiece, any Error> { continuation in
        continuation.yield(UploadPiece(jobID: job.id, offset: Int64(cut), payload: .bytes(body.suffix(from: cut))))
        continuation.finish()
      }
      _ = try await second.service.upload(tenant: second.tenant, pieces: rest)
      let closed = try await second.service.updateState(id: job.id, to: .uploadComplete, tenant: second.tenant)
      #expect(closed.numberRecordsTotal == Int64(CheckpointedUpload.records))
      return try await outcome(second, closed)
    }
    #expect(resumed == whole)
    #expect(whole[0] == "\(JobState.jobComplete)" && whole[2] == "15")
  }
}

/// Random uploads, cut at random points with a restart at each: property tests of the checkpoints.
@Suite("Upload spool, checkpoints under random restarts")
struct UploadCheckpointPropertyTests {
  /// A seeded generator (SplitMix64), so that a failing seed can be run again.
  private struct Seeded: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      self.state &+= 0x9E37_79B9_7F4A_7C15
      var z = self.state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  private static let letters = Array("abcXYZ019 ,;\"\\{}[]\n\té😀".unicodeScalars).map(String.init)

  private static func text(_ length: Int, using random: inout Seeded) -> String {
    (0 ..< length).map { _ in Self.letters.randomElement(using: &random)! }.joined()
  }

  /// A CSV field: plain, or quoted with separators, quotes and line ends inside.
  private static func csvField(using random: inout Seeded, big: Bool) -> String {
    let length = big ? Int.random(in: 100_000 ... 300_000, using: &random) : Int.random(in: 0 ... 40, using: &random)
    let value = Self.text(length, using: &random)
    guard value.contains(where: { ",\"\n".contains($0) }) || Bool.random(using: &random) else {
      return value.isEmpty ? "x" : value.replacingOccurrences(of: "\r", with: "")
    }
    return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// A JSON object with strings holding brackets, quotes and escapes, and nested values.
  private static func jsonObject(_ id: Int, using random: inout Seeded, big: Bool) -> String {
    let length = big ? Int.random(in: 100_000 ... 300_000, using: &random) : Int.random(in: 0 ... 60, using: &random)
    let value = Self.text(length, using: &random)
      .replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
    return "{\"id\":\(id), \"s\":\"\(value)\",\"n\":[1,{\"x\":\"}]\"}, [] ]}"
  }

  /// A random upload of `contentType` (with a byte order mark sometimes), as sent.
  private static func upload(_ contentType: ContentType, gzip: Bool, using random: inout Seeded) throws -> Data {
    let count = Int.random(in: 20_000 ... 40_000, using: &random)
    let isArray = Bool.random(using: &random)
    var parts: [String] = []
    if contentType == .csv {
      parts.append("a,b,c\n")
    } else if isArray {
      parts.append(" [\n")
    }
    for id in 1 ... count {
      let big = Int.random(in: 0 ..< 4_000, using: &random) == 0
      if contentType == .csv {
        let fields = (0 ..< 3).map { column in Self.csvField(using: &random, big: big && column == 1) }
        parts.append(fields.joined(separator: ",") + (Bool.random(using: &random) ? "\r\n" : "\n"))
      } else if isArray {
        parts.append(
          (id > 1 ? "," : "") + (Bool.random(using: &random) ? "\n  " : "")
            + Self.jsonObject(id, using: &random, big: big)
        )
      } else {
        parts.append(
          (Int.random(in: 0 ..< 10, using: &random) == 0 ? "\n \n" : "") + Self.jsonObject(id, using: &random, big: big)
            + " \n"
        )
      }
    }
    if contentType == .json, isArray {
      parts.append("\n]\n")
    }
    var bytes = Data((Bool.random(using: &random) ? "\u{FEFF}" : "").utf8) + Data(parts.joined().utf8)
    guard gzip else { return bytes }
    // One member, or several cut at random places.
    var compressed = Data()
    while !bytes.isEmpty {
      let length = Bool.random(using: &random) ? bytes.count : Int.random(in: 1 ... bytes.count, using: &random)
      compressed += try SpooledStagingStoreTests.gzip(bytes.prefix(length))
      bytes = bytes.dropFirst(length)
    }
    return compressed
  }

  @Test(
    "random CSV and JSON uploads, plain and gzip, restarted at random points count as read whole",
    arguments: 0 ..< 12
  )
  func randomRestarts(seed: UInt64) async throws {
    var random = Seeded(state: seed)
    let contentType: ContentType = seed % 2 == 0 ? .csv : .json
    let gzip = seed % 4 >= 2
    let body = try Self.upload(contentType, gzip: gzip, using: &random)
    let job = SpooledStagingStoreTests.job(contentType, compression: gzip ? .gzip : .none, id: "bulk-job-random-\(seed)")
    let whole = try await withTemporaryDirectory { directory in
      let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
      _ = try await store.append(.bytes(body), at: 0, to: job)
      return try await store.seal(job).recordsReceived
    }
    let cuts = (0 ..< Int.random(in: 2 ... 6, using: &random)).map { _ in
      Int.random(in: 1 ..< body.count, using: &random)
    }
    let resumed = try await withTemporaryDirectory { directory in
      var offset = 0
      var resumedFromCheckpoint = 0
      for cut in cuts.sorted() + [body.count] where cut > offset {
        let store = try SpooledStagingStoreTests.store(directory, limits: Limits())
        let url = URL(fileURLWithPath: directory).appendingPathComponent(".checkpoints/\(job.id).checkpoint")
        if let saved = try? Data(contentsOf: url), StreamCheckpoint(decoding: ByteBuffer(bytes: saved)) != nil {
          resumedFromCheckpoint += 1
        }
        _ = try await store.append(.bytes(body[offset ..< cut]), at: Int64(offset), to: job)
        offset = cut
        guard offset < body.count else { return (try await store.seal(job).recordsReceived, resumedFromCheckpoint) }
        _ = try await store.sync(job)
      }
      return (Int64(-1), resumedFromCheckpoint)
    }
    #expect(resumed.0 == whole)
    #expect(whole > 20_000 - 1)
    // Restarts found a checkpoint to take the upload up from.
    #expect(resumed.1 > 0)
  }
}

extension Result {
  fileprivate var failure: Failure? {
    guard case .failure(let error) = self else { return nil }
    return error
  }

  fileprivate var success: Success? {
    guard case .success(let value) = self else { return nil }
    return value
  }
}
