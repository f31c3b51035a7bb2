internal import BulkCore
internal import Foundation
internal import NIOCore

/// A job's results in storage: one object per chunk, `<chunk>.results`, holding each result set's records
/// already encoded in the job's format (CSV rows, one JSON object per line, or typed-row frames)
/// and the offsets where the records start.
///
/// A chunk's object is written whole (`JobStorage.write`), so a crash never leaves a truncated
/// one that could be served, and a chunk has results exactly when its object exists.
/// Downloads join the chunks in order and frame them as one document (a CSV header line, or a
/// JSON array).
///
/// The file: `SBR1`, then for each set in `ResultSet.allCases` order its data offset and length,
/// index offset and record count (four little-endian `UInt64`), then the data and the indexes
/// (one `UInt64` per record: where it starts in its set's data).
///
/// `SBR2` is the same, except that the successful set's records are not copied: they are rows of
/// the upload (`UploadRows`), which stays until the job is deleted. The set's data is where the
/// chunk lies in the upload (offset and length, two `UInt64`) and the CSV delimiter (one byte);
/// its index holds per record its number (`UInt64`), where its bytes start in the chunk
/// (`UInt32`) and their length (`UInt32`, its top bit set when the record created a row). A
/// million successful rows then cost 16 MB of result files instead of a second copy of the upload.
///
/// Every file is admitted by the storage ledger before it is written: past the tenant's quota or
/// the free-disk floor the write is refused with `RESOURCE_EXHAUSTED`, and the job fails with it.
struct ResultStore: Sendable {
  let storage: any JobStorage
  let ledger: StorageLedger

  private static let magic = Array("SBR1".utf8)
  private static let uploadRowsMagic = Array("SBR2".utf8)
  private static let headerSize = 4 + ResultSet.allCases.count * 32

  /// The queues chunk files are written and fsynced on, off the concurrency pool: two per core,
  /// as many as a job with the default workers has chunks in flight, so that a job's fsyncs do
  /// not wait for each other, while blocked writes take a bounded number of threads whatever the
  /// number of jobs.
  private let writers: [DispatchQueue]

  /// Runs before each chunk's file is written; what it throws fails the write.
  private let writeCheck: ResultWriteCheck

  init(storage: any JobStorage, ledger: StorageLedger, writeCheck: ResultWriteCheck = .none) {
    self.storage = storage
    self.ledger = ledger
    self.writeCheck = writeCheck
    self.writers = (0 ..< 2 * max(2, ProcessInfo.processInfo.activeProcessorCount)).map {
      DispatchQueue(label: "spectra.bulk.results.\($0)")
    }
  }

  private static func chunkKey(jobID: String, chunk: Int) -> StorageKey {
    StorageKey(jobID: jobID, area: .results, name: "\(chunk).results")
  }

  private static func columnsKey(jobID: String) -> StorageKey {
    StorageKey(jobID: jobID, area: .results, name: "columns.json")
  }

  private static func settledKey(jobID: String) -> StorageKey {
    StorageKey(jobID: jobID, area: .results, name: "settled")
  }

  /// Records the result columns of a job (its upload's columns) before any chunk is written.
  func writeColumns(_ columns: [String], of job: Job, admission: StorageUsage.Admission = .quotaAndFloor) throws {
    let key = Self.columnsKey(jobID: job.id)
    let encoded = try JSONEncoder().encode(columns)
    try self.admitted(Int64(encoded.count), replacing: key, of: job, admission: admission) {
      try self.storage.write(encoded, to: key)
    }
  }

  /// The result columns of a job; empty when it never started.
  func columns(jobID: String) -> [String] {
    guard let data = try? self.storage.read(Self.columnsKey(jobID: jobID), range: nil) else { return [] }
    return (try? JSONDecoder().decode([String].self, from: data)) ?? []
  }

  /// Records that the job's runner settled it: every record of its upload has its result set,
  /// and its counters are final. Asked only of aborted jobs, so not written for a completed one.
  func markSettled(jobID: String) throws {
    try self.storage.write(Data(), to: Self.settledKey(jobID: jobID))
  }

  /// Whether the job's runner settled it (`markSettled`).
  func isSettled(jobID: String) -> Bool {
    (try? self.storage.size(of: Self.settledKey(jobID: jobID))) != nil
  }

  /// Whether the chunk's results are complete in storage.
  func hasChunk(jobID: String, chunk: Int) -> Bool {
    (try? self.storage.size(of: Self.chunkKey(jobID: jobID, chunk: chunk))) != nil
  }

  /// The first bytes of a chunk's object, where its sets' offsets and counts are; `nil` when the
  /// chunk has no object (or one that cannot be read).
  private func header(jobID: String, chunk: Int) -> Data? {
    try? self.storage.read(Self.chunkKey(jobID: jobID, chunk: chunk), range: 0 ..< Int64(Self.headerSize))
  }

  /// How many records each set holds in the chunk's object; `nil` when the chunk has none (or
  /// one that cannot be read).
  func recordCounts(jobID: String, chunk: Int) -> [ResultSet: Int]? {
    guard let header = self.header(jobID: jobID, chunk: chunk) else { return nil }
    var counts: [ResultSet: Int] = [:]
    for set in ResultSet.allCases {
      guard let section = try? Self.section(of: set, in: header, chunk: chunk, headerOnly: true) else { return nil }
      counts[set] = section.count
    }
    return counts
  }

  /// Writes one chunk's result sets in one object; a set left out has no records in the chunk.
  /// The object is written and made durable on one of `writers`: the writes block a thread, which
  /// must not be one of the concurrency pool's, where the next chunks are being parsed.
  ///
  /// - Parameter admission: the limits the file is held to; unprocessed records of a job that
  ///   stopped are written past the tenant's quota, so each of them stays in a result set.
  /// - Parameter successfulRows: the successful records as rows of the upload, in place of
  ///   `sets[.successful]`.
  func writeChunk(
    of job: Job,
    chunk: Int,
    sets: [ResultSet: EncodedRecords],
    successfulRows: UploadRows? = nil,
    admission: StorageUsage.Admission = .quotaAndFloor
  ) async throws {
    let contents = {
      var contents = ByteBuffer()
      Self.encode(sets, successfulRows: successfulRows, into: &contents)
      return contents
    }()
    try await self.writers[chunk % self.writers.count].run {
      try self.store(contents, of: job, chunk: chunk, admission: admission)
    }
  }

  /// `writeChunk`, blocking the caller: for a caller already on a queue of its own.
  func writeChunkBlocking(of job: Job, chunk: Int, sets: [ResultSet: EncodedRecords]) throws {
    var contents = ByteBuffer()
    try self.writeChunkBlocking(of: job, chunk: chunk, sets: sets, into: &contents)
  }

  /// `writeChunkBlocking`, encoding the file in `contents` (emptied first): a caller that writes
  /// chunk after chunk passes the same buffer, to reuse it.
  func writeChunkBlocking(
    of job: Job,
    chunk: Int,
    sets: [ResultSet: EncodedRecords],
    into contents: inout ByteBuffer
  ) throws {
    contents.clear()
    Self.encode(sets, successfulRows: nil, into: &contents)
    try self.store(contents, of: job, chunk: chunk, admission: .quotaAndFloor)
  }

  /// Appends a chunk's result file to `contents`: the header, every set's records, then every
  /// set's indexes (`SBR2` with `successfulRows`, `SBR1` without).
  private static func encode(
    _ sets: [ResultSet: EncodedRecords],
    successfulRows: UploadRows?,
    into contents: inout ByteBuffer
  ) {
    var sets = sets
    if successfulRows != nil { sets[.successful] = nil }
    func dataBytes(_ set: ResultSet) -> Int {
      set == .successful && successfulRows != nil ? UploadRows.sourceBytes : sets[set]?.bytes.readableBytes ?? 0
    }
    func indexBytes(_ set: ResultSet) -> Int {
      if set == .successful, let successfulRows { return UploadRows.entryBytes * successfulRows.count }
      return 8 * (sets[set]?.count ?? 0)
    }
    let indexesStart = Self.headerSize + ResultSet.allCases.reduce(0) { $0 + dataBytes($1) }
    contents.reserveCapacity(indexesStart + ResultSet.allCases.reduce(0) { $0 + indexBytes($1) })
    contents.writeBytes(successfulRows == nil ? Self.magic : Self.uploadRowsMagic)
    var dataOffset = Self.headerSize
    var indexOffset = indexesStart
    for set in ResultSet.allCases {
      let count = set == .successful ? successfulRows?.count ?? sets[set]?.count ?? 0 : sets[set]?.count ?? 0
      contents.writeInteger(UInt64(dataOffset), endianness: .little)
      contents.writeInteger(UInt64(dataBytes(set)), endianness: .little)
      contents.writeInteger(UInt64(indexOffset), endianness: .little)
      contents.writeInteger(UInt64(count), endianness: .little)
      dataOffset += dataBytes(set)
      indexOffset += indexBytes(set)
    }
    for set in ResultSet.allCases {
      if set == .successful, let successfulRows {
        successfulRows.writeSource(into: &contents)
      } else if let records = sets[set] {
        contents.writeImmutableBuffer(records.bytes)
      }
    }
    for set in ResultSet.allCases {
      if set == .successful, let successfulRows {
        contents.writeImmutableBuffer(successfulRows.entries)
      } else {
        for start in sets[set]?.starts ?? [] {
          contents.writeInteger(UInt64(start), endianness: .little)
        }
      }
    }
  }

  private func store(
    _ contents: ByteBuffer,
    of job: Job,
    chunk: Int,
    admission: StorageUsage.Admission
  ) throws {
    try self.writeCheck.body(job.id, chunk)
    let key = Self.chunkKey(jobID: job.id, chunk: chunk)
    try self.admitted(Int64(contents.readableBytes), replacing: key, of: job, admission: admission) {
      try contents.withUnsafeReadableBytes { try self.storage.write($0, to: key) }
    }
  }

  /// Runs `write`, which writes `size` bytes to `key`, once the ledger admits them; gives back
  /// the size of the object it replaces, or the reservation when the write fails.
  private func admitted(
    _ size: Int64,
    replacing key: StorageKey,
    of job: Job,
    admission: StorageUsage.Admission,
    write: () throws -> Void
  ) throws {
    try self.ledger.reserve(size, jobID: job.id, tenantID: job.tenantID, in: .results, admission: admission)
    let replaced = ((try? self.storage.size(of: key)) ?? nil) ?? 0
    do {
      try write()
    } catch {
      self.ledger.release(size, jobID: job.id, tenantID: job.tenantID, in: .results)
      throw error
    }
    self.ledger.release(replaced, jobID: job.id, tenantID: job.tenantID, in: .results)
  }

  /// Removes every result object of the job.
  func remove(jobID: String) throws {
    try self.storage.remove(jobID: jobID, area: .results)
    self.ledger.remove(jobID: jobID, in: .results)
  }

  /// The size a download's pieces (one gRPC message, one HTTP body part each) reach before they
  /// are sent: 120 KiB, under malloc's mmap threshold (128 KiB) with room for the message's
  /// framing, and under every client's message limit (grpcio's default is 4 MiB).
  ///
  /// Above the threshold, each message's buffers come from `mmap`, new zeroed pages every time:
  /// with 1 MiB pieces, 11 % of the server's CPU samples in the 1,000,000-row export's profile
  /// were `clear_page_erms` under gRPC's serializer. Below it, malloc reuses them. Within it,
  /// larger is cheaper for the client, which pays per message: a Python grpcio client's CPU for
  /// the export's download (92 MB, 1,412 messages of 64 KiB) went from 0.08–0.10 s to 0.06–0.07 s
  /// with 120 KiB pieces, at the same server CPU (0.06–0.10 s).
  static let pieceBytes = 120 << 10

  /// Streams a result set from `locator`, at most `maxRecords` records (0: all), framed by
  /// `framing` as one document, in pieces of about `pieceBytes`.
  ///
  /// - Returns: the next locator, empty at the end.
  func read(
    jobID: String,
    chunks: Int,
    set: ResultSet,
    locator: String,
    maxRecords: Int64,
    framing: ResultFraming,
    emit: @Sendable (ResultPiece) async throws -> Void
  ) async throws -> String {
    var position = try ResultLocator(locator, set: set)
    var remaining = maxRecords == 0 ? Int64.max : maxRecords
    var piece = Data(framing.opening)
    var pieceRecords: Int64 = 0
    var first = true

    while position.chunk < chunks && remaining > 0 {
      guard let contents = try self.storage.read(Self.chunkKey(jobID: jobID, chunk: position.chunk), range: nil) else {
        throw BulkError(code: .internal, message: "the results of chunk \(position.chunk) are missing")
      }
      let section = try Self.section(of: set, in: contents, chunk: position.chunk)
      if position.record < section.count {
        let take = Int(min(Int64(section.count - position.record), remaining))
        let data = contents[section.data]
        // Successful rows that refer to the upload (`SBR2`) read the chunk's bytes once.
        let upload = try section.uploadRows.map { try self.upload(jobID: jobID, $0, chunk: position.chunk) }
        var index = position.record
        while index < position.record + take {
          if let rows = section.uploadRows, let upload {
            try section.appendUploadRow(index, rows, from: upload, to: &piece)
            pieceRecords += 1
            index += 1
          } else if framing.isConcatenation {
            // CSV records follow each other as stored: copy up to a piece's worth at once.
            var last = index
            let limit = section.start(index) + Self.pieceBytes - piece.count
            while last + 1 < position.record + take && section.start(last + 1) < limit { last += 1 }
            let end = last + 1 < section.count ? section.start(last + 1) : data.count
            piece.append(data[data.startIndex + section.start(index) ..< data.startIndex + end])
            pieceRecords += Int64(last - index + 1)
            index = last + 1
          } else {
            // JSON objects are stored one per line and joined with commas.
            let recordEnd = index + 1 < section.count ? section.start(index + 1) : data.count
            if !first { piece.append(contentsOf: framing.separator) }
            piece.append(framing.trimming(data[data.startIndex + section.start(index) ..< data.startIndex + recordEnd]))
            first = false
            pieceRecords += 1
            index += 1
          }
          if piece.count >= Self.pieceBytes {
            try await emit(ResultPiece(data: piece, recordCount: pieceRecords))
            piece = Data()
            pieceRecords = 0
          }
        }
        remaining -= Int64(take)
        position.record += take
      }
      if position.record >= section.count {
        position = ResultLocator(set: set, chunk: position.chunk + 1, record: 0)
      }
    }
    piece.append(contentsOf: framing.closing)
    try await emit(ResultPiece(data: piece, recordCount: pieceRecords))
    return position.chunk < chunks && self.hasMore(jobID: jobID, from: position, chunks: chunks) ? position.token : ""
  }

  /// Whether any record is left at or after `position`.
  private func hasMore(jobID: String, from position: ResultLocator, chunks: Int) -> Bool {
    var chunk = position.chunk
    var record = position.record
    while chunk < chunks {
      guard let header = self.header(jobID: jobID, chunk: chunk) else { return false }
      if let section = try? Self.section(of: position.set, in: header, chunk: chunk, headerOnly: true),
        record < section.count
      {
        return true
      }
      chunk += 1
      record = 0
    }
    return false
  }

  /// The bytes of the upload that a chunk's successful rows refer to.
  private func upload(jobID: String, _ rows: UploadRows.Source, chunk: Int) throws -> Data {
    let range = rows.offset ..< rows.offset + Int64(rows.length)
    guard let bytes = try self.storage.read(UploadObjects.text(jobID), range: range), bytes.count == rows.length
    else {
      throw BulkError(
        code: .internal,
        message: "the upload that the successful results of chunk \(chunk) repeat is missing or shorter than bytes \(range)"
      )
    }
    return bytes
  }

  /// Where one set's records lie in a chunk file.
  private struct Section {
    var data: Range<Int>
    var count: Int
    /// The mapped file, and where the set's index starts in it.
    var contents: Data
    var index: Int
    /// Where the upload holds the records, for successful rows that refer to it (`SBR2`).
    var uploadRows: UploadRows.Source?

    /// Where record `record` starts in the set's data.
    func start(_ record: Int) -> Int {
      self.contents.withUnsafeBytes { raw in
        Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: self.index + record * 8, as: UInt64.self)))
      }
    }

    /// Appends successful row `record`, whose bytes are in `upload` (the chunk's bytes), as
    /// `ResultWriter` writes a successful CSV row: number, `_created`, the record as uploaded.
    func appendUploadRow(_ record: Int, _ rows: UploadRows.Source, from upload: Data, to piece: inout Data) throws {
      let entry = self.contents.withUnsafeBytes { raw in
        let at = self.index + record * UploadRows.entryBytes
        return (
          number: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)),
          start: Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self))),
          length: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
        )
      }
      let length = Int(entry.length & ~UploadRows.createdBit)
      guard entry.start + length <= upload.count else {
        throw BulkError(
          code: .internal,
          message: "the successful result of record \(entry.number) lies outside its chunk's bytes in the upload"
        )
      }
      piece.append(contentsOf: String(entry.number).utf8)
      piece.append(rows.delimiter)
      piece.append(contentsOf: entry.length & UploadRows.createdBit != 0 ? "true".utf8 : "false".utf8)
      piece.append(rows.delimiter)
      piece.append(upload[upload.startIndex + entry.start ..< upload.startIndex + entry.start + length])
      piece.append(UInt8(ascii: "\n"))
    }
  }

  private static func section(
    of set: ResultSet,
    in contents: Data,
    chunk: Int,
    headerOnly: Bool = false
  ) throws -> Section {
    let refersToUpload = contents.prefix(4).elementsEqual(Self.uploadRowsMagic) && set == .successful
    guard contents.count >= Self.headerSize,
      contents.prefix(4).elementsEqual(Self.magic) || contents.prefix(4).elementsEqual(Self.uploadRowsMagic),
      let position = ResultSet.allCases.firstIndex(of: set)
    else {
      throw BulkError(code: .internal, message: "the results of chunk \(chunk) are damaged")
    }
    let fields = contents.withUnsafeBytes { raw in
      (0 ..< 4).map {
        Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 4 + position * 32 + $0 * 8, as: UInt64.self)))
      }
    }
    let (dataStart, dataLength, indexStart, count) = (fields[0], fields[1], fields[2], fields[3])
    let entryBytes = refersToUpload ? UploadRows.entryBytes : 8
    guard
      headerOnly
        || (dataStart + dataLength <= contents.count && indexStart + count * entryBytes <= contents.count
          && (!refersToUpload || dataLength == UploadRows.sourceBytes))
    else {
      throw BulkError(code: .internal, message: "the results of chunk \(chunk) are damaged")
    }
    var section = Section(data: dataStart ..< dataStart + dataLength, count: count, contents: contents, index: indexStart)
    if refersToUpload && !headerOnly {
      section.uploadRows = contents.withUnsafeBytes { raw in
        UploadRows.Source(
          offset: Int64(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart, as: UInt64.self))),
          length: Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + 8, as: UInt64.self))),
          delimiter: raw[dataStart + 16]
        )
      }
    }
    return section
  }
}

/// Decides, before a chunk's result file is written, whether the write fails: tests make one fail
/// as a full disk would. The server writes every file.
package struct ResultWriteCheck: Sendable {
  let body: @Sendable (_ jobID: String, _ chunk: Int) throws -> Void

  /// Checks each write with `body`, which throws to fail it.
  package init(_ body: @escaping @Sendable (_ jobID: String, _ chunk: Int) throws -> Void) {
    self.body = body
  }

  /// Every write goes ahead.
  package static let none = ResultWriteCheck { _, _ in }
}

/// Records encoded for a result file, and where each starts.
struct EncodedRecords: Sendable {
  var bytes = ByteBuffer()
  var starts: [Int] = []

  /// Appends one record, written by `write`.
  mutating func append(_ write: (inout ByteBuffer) -> Void) {
    self.starts.append(self.bytes.writerIndex)
    write(&self.bytes)
  }

  var count: Int { self.starts.count }
}

/// A chunk's successful CSV records as rows of the upload (`SBR2`): where each lies in the
/// chunk's bytes, which the upload keeps, instead of a copy of them.
struct UploadRows: Sendable {
  /// Where the chunk lies in the upload, and the job's delimiter.
  struct Source: Sendable {
    var offset: Int64
    var length: Int
    var delimiter: UInt8
  }

  /// The bytes of `Source` in the file.
  static let sourceBytes = 17
  /// The bytes of one record's entry: number, start, length with the created bit.
  static let entryBytes = 16
  /// The top bit of an entry's length: the record created a row.
  static let createdBit: UInt32 = 1 << 31

  let source: Source
  private(set) var entries = ByteBuffer()
  private(set) var count = 0

  init(source: Source, capacity: Int) {
    self.source = source
    self.entries.reserveCapacity(capacity * Self.entryBytes)
  }

  /// Whether a record of `length` bytes at `start` in the chunk can be referred to; a longer one
  /// is copied into the result file instead.
  static func canRefer(start: Int, length: Int) -> Bool {
    start >= 0 && start <= Int(UInt32.max) && length >= 0 && length < Int(Self.createdBit)
  }

  /// Adds record `number`, whose bytes are `range` of the chunk (`canRefer` holds).
  mutating func append(number: Int64, range: Range<Int>, created: Bool) {
    self.entries.writeInteger(UInt64(number), endianness: .little)
    self.entries.writeInteger(UInt32(range.lowerBound), endianness: .little)
    self.entries.writeInteger(UInt32(range.count) | (created ? Self.createdBit : 0), endianness: .little)
    self.count += 1
  }

  func writeSource(into contents: inout ByteBuffer) {
    contents.writeInteger(UInt64(self.source.offset), endianness: .little)
    contents.writeInteger(UInt64(self.source.length), endianness: .little)
    contents.writeInteger(self.source.delimiter)
  }
}

/// How a result document is framed around its records.
struct ResultFraming: Sendable {
  /// Bytes before the first record: a CSV header line, or `[`.
  var opening: [UInt8]
  /// Bytes between two records: nothing for CSV, a comma for JSON.
  var separator: [UInt8]
  /// Bytes after the last record: nothing for CSV, `]` for JSON.
  var closing: [UInt8]
  /// Whether stored records end in a line feed that the document does not want (JSON).
  var trimsLineEnd: Bool

  /// Whether records are joined as stored, with nothing between or trimmed.
  var isConcatenation: Bool { self.separator.isEmpty && !self.trimsLineEnd }

  func trimming(_ record: Data) -> Data {
    guard self.trimsLineEnd, record.last == UInt8(ascii: "\n") else { return record }
    return record.dropLast()
  }
}

/// A position in a result set: the chunk and the record within it. Opaque to clients.
struct ResultLocator: Hashable {
  var set: ResultSet
  var chunk: Int
  var record: Int

  init(set: ResultSet, chunk: Int, record: Int) {
    self.set = set
    self.chunk = chunk
    self.record = record
  }

  /// The position a client's locator names; the start for an empty one.
  init(_ token: String, set: ResultSet) throws(BulkError) {
    guard !token.isEmpty else {
      self.init(set: set, chunk: 0, record: 0)
      return
    }
    guard let text = OpaqueToken.decode(token) else {
      throw .invalidArgument("locator is not one this server issued")
    }
    let parts = text.split(separator: ":")
    guard parts.count == 4, parts[0] == "r1", let chunk = Int(parts[2]), let record = Int(parts[3]), chunk >= 0,
      record >= 0
    else {
      throw .invalidArgument("locator is not one this server issued")
    }
    guard parts[1] == set.rawValue else {
      throw .invalidArgument("locator belongs to the \(parts[1]) result set, not to \(set.rawValue)")
    }
    self.init(set: set, chunk: chunk, record: record)
  }

  var token: String {
    OpaqueToken.encode("r1:\(self.set.rawValue):\(self.chunk):\(self.record)")
  }
}
