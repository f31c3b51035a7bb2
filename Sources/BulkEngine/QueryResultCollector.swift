internal import BulkCore
internal import BulkFormats
internal import Foundation
internal import NIOCore
internal import Synchronization

/// Receives a query job's rows from the warehouse and writes them, as they come, into the job's
/// `query` result set: chunk files of about `chunkBytes` in the job's format (CSV lines, JSON
/// objects, or typed-row frames), so no result is ever held whole in memory.
///
/// It reports the rows and chunks written so far to `progress` after each chunk.
final class QueryResultCollector: QueryRowSink {
  /// Totals written so far.
  struct Totals: Sendable {
    var rows: Int64 = 0
    var chunks = 0
  }

  private struct State {
    var columns: [QueryColumn] = []
    var pending = EncodedRecords()
    var totals = Totals()
  }

  private let job: Job
  private let results: ResultStore
  private let chunkBytes: Int
  private let progress: AsyncStream<Totals>.Continuation
  /// Written by the warehouse's thread, one call at a time; read by the runner when it is done.
  private let state = Mutex(State())

  init(job: Job, results: ResultStore, chunkBytes: Int, progress: AsyncStream<Totals>.Continuation) {
    self.job = job
    self.results = results
    self.chunkBytes = chunkBytes
    self.progress = progress
  }

  /// What is written so far.
  var totals: Totals { self.state.withLock { $0.totals } }

  /// Forgets every result written before, for a run that starts over.
  func reset() throws {
    try self.results.remove(jobID: self.job.id)
    self.state.withLock { $0 = State() }
  }

  func columns(_ columns: [QueryColumn]) throws {
    try self.results.writeColumns(columns.map(\.name), jobID: self.job.id)
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
      if state.pending.bytes.readableBytes >= self.chunkBytes {
        try self.flush(&state)
      }
    }
  }

  /// Writes what is pending as the last chunk and returns the totals.
  func finish() throws -> Totals {
    try self.state.withLock { state in
      if state.pending.count > 0 {
        try self.flush(&state)
      }
      return state.totals
    }
  }

  private func flush(_ state: inout State) throws {
    try self.results.writeChunk(jobID: self.job.id, chunk: state.totals.chunks, sets: [.query: state.pending])
    state.totals.rows += Int64(state.pending.count)
    state.totals.chunks += 1
    state.pending = EncodedRecords()
    self.progress.yield(state.totals)
  }

  private func encode(_ row: [FieldValue], columns: [QueryColumn], into buffer: inout ByteBuffer) {
    switch self.job.contentType {
    case .csv:
      let delimiter = self.job.columnDelimiter.asciiValue ?? UInt8(ascii: ",")
      CSVWriter(delimiter: delimiter).write(row.lazy.map(ResultWriter.text), into: &buffer)
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
    case .text, .bytes, .timestamp: .string(ResultWriter.text(value))
    }
  }
}
