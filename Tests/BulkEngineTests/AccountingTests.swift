import BulkCore
import BulkEngine
import BulkPostgres
import BulkTestSupport
import Foundation
import Synchronization
import Testing

/// Every ending of a 300,000-record insert, on SQLite and PostgreSQL: each input record is in
/// exactly one of the successful, failed and unprocessed sets, read page by page as a client
/// reads them, and the counters agree with the table.
@Suite("Accounting: every record in exactly one result set, in every ending")
struct AccountingTests {
  static let records = 300_000
  static let chunkRecords = 10_000
  /// Records whose id is not an integer: they fail before the warehouse (`INVALID_VALUE`).
  static let badIDs: Set<Int> = [7, 50_007, 100_007, 150_007, 200_007, 250_007]
  /// Records without a name: the warehouse refuses them (`NOT_NULL`).
  static let nameless: Set<Int> = [777, 150_777]

  static let upload: Data = {
    var csv = "id,name\n"
    csv.reserveCapacity(records * 20)
    for number in 1 ... records {
      let id = badIDs.contains(number) ? "x\(number)" : "\(number)"
      let name = nameless.contains(number) ? "" : "item \(number)"
      csv += "\(id),\(name)\n"
    }
    return Data(csv.utf8)
  }()

  static func settings() -> EngineSettings {
    var settings = EngineSettings(workers: 2)
    settings.chunkRecords = chunkRecords
    settings.retryDelay = .milliseconds(1)
    settings.warehouseAttempts = 3
    return settings
  }

  /// How a job ends.
  enum Ending: Sendable, CustomTestStringConvertible {
    case complete
    /// Aborted while `Open`, its upload in place: no chunk ever ran.
    case abortedBeforeAnyChunk
    /// Aborted while chunk `n` is being applied; it finishes, later ones do not start.
    case abortedDuring(Int)
    /// The warehouse fails chunk `n` with an error that is not retried.
    case failedAt(Int)
    /// The warehouse is unreachable from chunk `n` on, past the retries.
    case warehouseLostAt(Int)
    /// Chunk `n` commits, then its result file cannot be written (as on a full disk).
    case resultWriteFailedAt(Int)

    static let all: [Ending] = [
      .complete, .abortedBeforeAnyChunk, .abortedDuring(0), .abortedDuring(1), .abortedDuring(15),
      .abortedDuring(29), .failedAt(10), .warehouseLostAt(10), .resultWriteFailedAt(12),
    ]

    var testDescription: String {
      switch self {
      case .complete: "complete"
      case .abortedBeforeAnyChunk: "aborted before any chunk"
      case .abortedDuring(let chunk): "aborted during chunk \(chunk) of 30"
      case .failedAt(let chunk): "failed at chunk \(chunk)"
      case .warehouseLostAt(let chunk): "warehouse lost at chunk \(chunk)"
      case .resultWriteFailedAt(let chunk): "result write failed at chunk \(chunk)"
      }
    }

    /// The chunk from which the warehouse is gated.
    var gatedFrom: Int? {
      switch self {
      case .abortedDuring(let chunk), .failedAt(let chunk), .warehouseLostAt(let chunk): chunk
      case .complete, .abortedBeforeAnyChunk, .resultWriteFailedAt: nil
      }
    }
  }

  /// What a client sees at the end.
  struct Tally {
    var job: Job
    var successful = 0
    var failed = 0
    var unprocessed = 0
    var tableRows = 0
  }

  @Test("SQLite", arguments: Ending.all)
  func sqlite(_ ending: Ending) async throws {
    try await withTemporaryDirectory { directory in
      let tally = try await Self.run(ending) { warehouse, check in
        let harness = try EngineHarness(
          directory: directory,
          settings: Self.settings(),
          warehouse: warehouse,
          resultWriteCheck: check
        )
        try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
        return harness
      } tableRows: { harness in
        Int(try harness.rows("SELECT count(*) FROM items")[0][0]) ?? -1
      }
      Self.check(tally, ending)
    }
  }

  @Test("PostgreSQL", arguments: Ending.all)
  func postgres(_ ending: Ending) async throws {
    let postgres = try await PostgresTenant.make("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);")
    defer { postgres.warehouse.shutdown() }
    try await withTemporaryDirectory { directory in
      let tally = try await Self.run(ending) { warehouse, check in
        try postgres.harness(
          directory: directory,
          settings: Self.settings(),
          warehouse: warehouse,
          resultWriteCheck: check
        )
      } tableRows: { _ in
        Int(try postgres.psql("SELECT count(*) FROM items").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
      }
      Self.check(tally, ending)
    }
  }

  @Test("an abort whose settling the process did not finish is settled after a restart")
  func abortInterruptedByRestart() async throws {
    try await withTemporaryDirectory { directory in
      let gate = Mutex<GatedWarehouse?>(nil)
      let first = try EngineHarness(directory: directory, settings: Self.settings()) { base in
        let gated = GatedWarehouse(base, gatedFrom: 5)
        gate.withLock { $0 = gated }
        return gated
      }
      let gated = try #require(gate.withLock { $0 })
      try first.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
      var arrivals = gated.arrived.makeAsyncIterator()
      let job = try await first.submit(JobSpec(operation: .insert, object: "items"), [.bytes(Self.upload)])
      _ = await arrivals.next()
      let aborted = try await first.service.updateState(id: job.id, to: .aborted, tenant: first.tenant)
      // The first process stops here, its runner held at chunk 5. A second one starts on the same data.
      let second = try EngineHarness(directory: directory, settings: Self.settings())
      let engine = Task { try await second.engine.run() }
      let tally = try await Self.tally(aborted, harness: second) { harness in
        Int(try harness.rows("SELECT count(*) FROM items")[0][0]) ?? -1
      }
      engine.cancel()
      gated.fail(with: WarehouseBroken())
      await first.engine.waitUntilIdle(jobID: job.id)
      #expect(tally.job.state == .aborted)
      #expect(tally.successful + tally.failed + tally.unprocessed == Self.records)
      #expect(tally.tableRows == tally.successful)
      #expect(tally.job.numberRecordsProcessed == Int64(tally.successful + tally.failed))
      #expect(tally.job.numberRecordsFailed == Int64(tally.failed))
      #expect(tally.job.numberChunks == 30)
      #expect((4 ... 5).contains(tally.job.numberChunksCompleted))
    }
  }

  /// Runs a job to `ending`, then reads its three sets page by page and checks that each record
  /// number of the upload is in exactly one.
  static func run(
    _ ending: Ending,
    harness make: (((any Warehouse) -> any Warehouse)?, ResultWriteCheck) throws -> EngineHarness,
    tableRows: (EngineHarness) throws -> Int
  ) async throws -> Tally {
    let gate = Mutex<GatedWarehouse?>(nil)
    let wrap: ((any Warehouse) -> any Warehouse)? = ending.gatedFrom.map { chunk in
      { base in
        let gated = GatedWarehouse(base, gatedFrom: chunk)
        gate.withLock { $0 = gated }
        return gated
      }
    }
    let failingWrite = Mutex<Int?>(nil)
    if case .resultWriteFailedAt(let chunk) = ending { failingWrite.withLock { $0 = chunk } }
    let check = ResultWriteCheck { _, chunk in
      try failingWrite.withLock { failing in
        guard failing == chunk else { return }
        failing = nil
        throw BulkError(code: .resourceExhausted, message: "the disk is full")
      }
    }
    let harness = try make(wrap, check)
    let spec = JobSpec(operation: .insert, object: "items")
    let job: Job
    switch ending {
    case .complete, .resultWriteFailedAt:
      job = try await harness.submit(spec, [.bytes(Self.upload)])
    case .abortedBeforeAnyChunk:
      let open = try await harness.submit(spec, [.bytes(Self.upload)], close: false)
      job = try await harness.service.updateState(id: open.id, to: .aborted, tenant: harness.tenant)
    case .abortedDuring:
      let gated = try #require(gate.withLock { $0 })
      var arrivals = gated.arrived.makeAsyncIterator()
      job = try await harness.submit(spec, [.bytes(Self.upload)])
      _ = await arrivals.next()
      _ = try await harness.service.updateState(id: job.id, to: .aborted, tenant: harness.tenant)
      gated.open()
    case .failedAt:
      try #require(gate.withLock { $0 }).fail(with: WarehouseBroken())
      job = try await harness.submit(spec, [.bytes(Self.upload)])
    case .warehouseLostAt:
      try #require(gate.withLock { $0 }).fail(with: WarehouseDown())
      job = try await harness.submit(spec, [.bytes(Self.upload)])
    }
    let terminal = try await harness.finished(job)
    #expect(terminal.state.isTerminal)
    return try await Self.tally(terminal, harness: harness, tableRows: tableRows)
  }

  /// Reads the job's three sets page by page, checks that each record number of the upload is
  /// in exactly one, and counts them.
  static func tally(
    _ terminal: Job,
    harness: EngineHarness,
    tableRows: (EngineHarness) throws -> Int
  ) async throws -> Tally {
    var seen = [UInt8](repeating: 0, count: Self.records + 1)
    var tally = Tally(job: terminal)
    for set in [ResultSet.successful, .failed, .unprocessed] {
      var locator = ""
      var count = 0
      repeat {
        let page = try await harness.results(terminal, set, locator: locator, maxRecords: 25_000)
        for number in Self.recordNumbers(page.text, set: set) {
          seen[number] += 1
        }
        count += Int(page.records)
        locator = page.next
      } while !locator.isEmpty
      switch set {
      case .successful: tally.successful = count
      case .failed: tally.failed = count
      default: tally.unprocessed = count
      }
    }
    #expect(seen.dropFirst().allSatisfy { $0 == 1 }, "a record is in no set, or in two")
    tally.job = try await harness.service.job(id: terminal.id, tenant: harness.tenant)
    tally.tableRows = try tableRows(harness)
    return tally
  }

  /// The `_record` of each row of a CSV result page (its header line first), read from the
  /// bytes: a failed row's error may span lines, so there a row's first line is the one whose
  /// number is followed by an error code (`CODE:`).
  static func recordNumbers(_ text: String, set: ResultSet) -> [Int] {
    var numbers: [Int] = []
    var utf8 = text.utf8[...]
    // The header line.
    utf8 = utf8.drop { $0 != UInt8(ascii: "\n") }.dropFirst()
    while !utf8.isEmpty {
      let line = utf8.prefix { $0 != UInt8(ascii: "\n") }
      utf8 = utf8.dropFirst(line.count + 1)
      let digits = line.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
      guard !digits.isEmpty, line.dropFirst(digits.count).first == UInt8(ascii: ",") else { continue }
      if set == .failed {
        let code = line.dropFirst(digits.count + 1).drop { $0 == UInt8(ascii: "\"") }
          .prefix { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "_") }
        guard code.count > 2, code.endIndex < line.endIndex, line[code.endIndex] == UInt8(ascii: ":") else { continue }
      }
      let number = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
      if (1 ... Self.records).contains(number) { numbers.append(number) }
    }
    return numbers
  }

  /// The sums every ending keeps, and what each ending adds.
  static func check(_ tally: Tally, _ ending: Ending) {
    let job = tally.job
    #expect(tally.successful + tally.failed + tally.unprocessed == Self.records)
    #expect(tally.tableRows == tally.successful)
    #expect(job.numberRecordsProcessed == Int64(tally.successful + tally.failed))
    #expect(job.numberRecordsFailed == Int64(tally.failed))
    #expect(job.numberRecordsTotal == Int64(Self.records))
    #expect(job.numberChunks == 30)
    let processedChunks = (tally.successful + tally.failed) / Self.chunkRecords
    #expect(job.numberChunksCompleted == Int32(processedChunks))
    switch ending {
    case .complete:
      #expect(job.state == .jobComplete)
      #expect(tally.failed == Self.badIDs.count + Self.nameless.count)
      #expect(tally.unprocessed == 0)
    case .abortedBeforeAnyChunk:
      #expect(job.state == .aborted)
      #expect(tally.unprocessed == Self.records)
    case .abortedDuring(let chunk):
      #expect(job.state == .aborted)
      // The chunk being applied finishes; with two workers the one before or after it may still
      // have been waiting, or have started too.
      #expect((chunk ... chunk + 2).contains(processedChunks))
    case .failedAt(let chunk), .warehouseLostAt(let chunk):
      #expect(job.state == .failed)
      // Chunks before it committed, unless one was still waiting for a worker when it failed.
      #expect((chunk - 1 ... chunk).contains(processedChunks))
      #expect(tally.unprocessed == (30 - processedChunks) * Self.chunkRecords)
    case .resultWriteFailedAt(let chunk):
      #expect(job.state == .failed)
      #expect(job.errorMessage.contains("the disk is full"))
      // The chunk whose results could not be written committed: it is in the successful set.
      #expect(processedChunks > chunk)
    }
  }
}
