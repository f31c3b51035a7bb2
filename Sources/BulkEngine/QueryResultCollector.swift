internal import BulkCore
internal import BulkFormats
internal import Foundation
internal import NIOCore
internal import Synchronization

/// Receives a query job's rows from the warehouse and writes them, as they come, into the job's
/// `query` result set: chunk files of about `chunkBytes` in the job's format (CSV lines, JSON
/// objects, or typed-row frames), so no result is ever held whole in memory.
///
/// Chunks are written (and fsynced) on a writer queue of their own while the next one fills, at
/// most two waiting, so the disk's flushes overlap with reading the database. It reports the rows
/// and chunks written so far to `progress` after each chunk.
///
/// The result's bytes are capped at `maxBytes` (`Limits.maxQueryResultBytes`): the batch that
/// passes it stops the statement, and what is kept is the whole chunks written before it, which
/// are the rows the job reports.
final class QueryResultCollector: QueryRowSink {
  /// Totals written so far.
  struct Totals: Sendable {
    var rows: Int64 = 0
    var chunks = 0
  }

  private struct State {
    var columns: [QueryColumn] = []
    var pending = EncodedRecords()
    /// What was handed to the writer queue.
    var queued = Totals()
    /// Bytes of records handed to the writer queue.
    var queuedBytes: Int64 = 0
  }

  /// What the writer queue wrote, and its first failure.
  private struct Written {
    var totals = Totals()
    var failure: (any Error)?
  }

  private let job: Job
  private let results: ResultStore
  private let chunkBytes: Int
  private let maxBytes: Int64
  private let progress: AsyncStream<Totals>.Continuation
  /// Written by the warehouse's threads (one per connection of a table read on several); read by
  /// the runner when it is done.
  private let state = Mutex(State())
  private let written = Mutex(Written())
  private let writer = DispatchQueue(label: "spectra.bulk.query-results")
  /// Chunk buffers the writer is done with, emptied, for the next chunks to fill: a chunk's
  /// buffer is several MiB, too large for malloc to keep, and new pages from the kernel cost more
  /// than filling them (each is zeroed, and on this project's VM often slow to come by): in the
  /// 1,000,000-row export's profile, 18 % of the server's CPU samples were the kernel zeroing
  /// pages for fresh chunk buffers, under 1 % with them reused.
  private let spare = Mutex<[ByteBuffer]>([])
  /// The result file each chunk is encoded into, on the writer queue, reused for the same reason.
  private let file = Mutex(ByteBuffer())
  /// Chunks waiting for the writer: the warehouse's thread blocks when two are.
  private let queueSlots = DispatchSemaphore(value: 2)

  init(
    job: Job,
    results: ResultStore,
    chunkBytes: Int,
    maxBytes: Int64,
    progress: AsyncStream<Totals>.Continuation
  ) {
    self.job = job
    self.results = results
    self.chunkBytes = chunkBytes
    self.maxBytes = maxBytes
    self.progress = progress
  }

  /// What is written so far.
  var totals: Totals { self.written.withLock { $0.totals } }

  /// Forgets every result written before, for a run that starts over.
  func reset() throws {
    self.writer.sync {}
    try self.results.remove(jobID: self.job.id)
    self.state.withLock { $0 = State() }
    self.written.withLock { $0 = Written() }
  }

  func columns(_ columns: [QueryColumn]) throws {
    try self.results.writeColumns(columns.map(\.name), of: self.job)
    self.state.withLock { $0.columns = columns }
  }

  func rows(_ batch: QueryRows) throws {
    try self.state.withLock { state in
      switch batch {
      case .csv(let bytes, let starts):
        let base = state.pending.bytes.writerIndex
        state.pending.starts.append(contentsOf: starts.lazy.map { $0 + base })
        state.pending.bytes.writeBytes(bytes)
      case .values(let rows):
        let columns = state.columns
        for row in rows {
          state.pending.append { self.encode(row, columns: columns, into: &$0) }
        }
      }
      if state.queuedBytes + Int64(state.pending.bytes.readableBytes) > self.maxBytes {
        try self.stopAtLimit(&state)
      }
      if state.pending.bytes.readableBytes >= self.chunkBytes {
        try self.flush(&state)
      }
    }
  }

  /// Keeps the pending rows that fit within `maxBytes` as the last chunk and stops the statement
  /// with the reason.
  private func stopAtLimit(_ state: inout State) throws {
    let read = state.queued.rows + Int64(state.pending.count)
    let room = self.maxBytes - state.queuedBytes
    // Row k starts where row k - 1 ends: keep the rows that end within the room.
    var fitting = 0
    while fitting < state.pending.count {
      let end = fitting + 1 < state.pending.count ? state.pending.starts[fitting + 1] : state.pending.bytes.writerIndex
      guard Int64(end) <= room else { break }
      fitting += 1
    }
    let cut = fitting < state.pending.count ? state.pending.starts[fitting] : state.pending.bytes.writerIndex
    state.pending.starts.removeLast(state.pending.count - fitting)
    state.pending.bytes.moveWriterIndex(to: cut)
    if fitting > 0 {
      try self.flush(&state)
    }
    throw BulkError(
      code: .resourceExhausted,
      message:
        "the query's result passed its limit of \(self.maxBytes) bytes (--max-query-result-bytes) within its first \(read) rows; the results keep the first \(state.queued.rows)"
    )
  }

  /// Drops what is pending and waits for the writer: after a failed run, the totals are then
  /// exactly what is in storage.
  func abandon() {
    self.state.withLock { $0.pending = EncodedRecords() }
    self.writer.sync {}
  }

  /// Writes what is pending as the last chunk, waits for the writer, and returns the totals.
  func finish() throws -> Totals {
    try self.state.withLock { state in
      if state.pending.count > 0 {
        try self.flush(&state)
      }
    }
    self.writer.sync {}
    return try self.written.withLock { written in
      if let failure = written.failure { throw failure }
      return written.totals
    }
  }

  /// Hands the pending records to the writer queue as the next chunk.
  private func flush(_ state: inout State) throws {
    if let failure = self.written.withLock({ $0.failure }) { throw failure }
    let handover = Handover(state.pending)
    let count = state.pending.count
    let size = state.pending.bytes.readableBytes
    let chunk = state.queued.chunks
    state.queued.rows += Int64(count)
    state.queued.chunks += 1
    state.queuedBytes += Int64(size)
    state.pending = EncodedRecords(bytes: self.spare.withLock { $0.popLast() } ?? ByteBuffer())
    let totals = state.queued
    self.queueSlots.wait()
    self.writer.async {
      defer { self.queueSlots.signal() }
      // After a failed chunk, later ones would leave a gap: the job fails with the first error.
      guard self.written.withLock({ $0.failure == nil }) else { return }
      var records = handover.take()
      do {
        try self.file.withLock { file in
          try self.results.writeChunkBlocking(of: self.job, chunk: chunk, sets: [.query: records], into: &file)
        }
        records.bytes.clear()
        self.spare.withLock { $0.append(records.bytes) }
        self.written.withLock { $0.totals = totals }
        self.progress.yield(totals)
      } catch {
        self.written.withLock { if $0.failure == nil { $0.failure = error } }
      }
    }
  }

  private func encode(_ row: [FieldValue], columns: [QueryColumn], into buffer: inout ByteBuffer) {
    switch self.job.contentType {
    case .csv:
      let delimiter = self.job.columnDelimiter.asciiValue ?? UInt8(ascii: ",")
      CSVWriter(delimiter: delimiter).write(row.lazy.map(\.csvText), into: &buffer)
    case .json:
      let members = zip(columns, row).map { column, value in (key: column.name, value: Self.json(value)) }
      JSONWriter.write(.object(members), into: &buffer)
      buffer.writeString("\n")
    case .recordBatch:
      let frame = FieldValue.encodeRow(row)
      buffer.writeInteger(UInt32(frame.count), endianness: .little)
      buffer.writeBytes(frame)
    }
  }

  private static func json(_ value: FieldValue) -> JSONValue {
    switch value {
    case .null: .null
    case .bool(let bool): .bool(bool)
    case .integer(let integer): .number(String(integer))
    case .number(let number): .number(number)
    case .double(let double): double.isFinite ? .number(String(double)) : .string(String(double))
    case .text, .bytes, .timestamp: .string(value.csvText)
    }
  }
}

/// A chunk's records on their way to the writer queue, which takes them out, so that it holds the
/// only reference to their buffer and can empty it in place for reuse.
private final class Handover: Sendable {
  private let records: Mutex<EncodedRecords>

  init(_ records: EncodedRecords) {
    self.records = Mutex(records)
  }

  /// The records, leaving none behind.
  func take() -> EncodedRecords {
    self.records.withLock { records in
      defer { records = EncodedRecords() }
      return records
    }
  }
}
