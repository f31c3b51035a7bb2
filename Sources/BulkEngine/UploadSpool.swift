internal import BulkCore
internal import BulkFormats
internal import Foundation
internal import NIOCore

/// One job's upload in storage: an appendable object, checked as it grows.
///
/// Byte uploads (CSV, JSON) are stored as sent (`UploadObjects.text`). Record batches are stored
/// as frames of the neutral row encoding (`FieldValue.appendFrame`: a little-endian `UInt32`
/// length, then one row) in `UploadObjects.records`, with the column list in
/// `UploadObjects.columns`. The stored size is read from storage when the spool is first used, so
/// a restart resumes exactly where the storage says.
///
/// All state is confined to `queue`: storage calls (writes, fsyncs) run there, off the Swift
/// concurrency pool. That confinement is why the class is `@unchecked Sendable`.
final class UploadSpool: @unchecked Sendable {
  private let job: Job
  private let storage: any JobStorage
  private let checkpointKey: StorageKey
  private let limits: Limits
  private let ledger: StorageLedger
  private let checkpointBytes: Int64
  private let queue: DispatchQueue

  // Confined to `queue`.
  private var file: (any AppendableObject)?
  private var validator: UploadValidator?
  private var records: Int64 = 0
  private var columns: [String]?
  private var unsynced = false
  private var sealed = false
  /// What was durable when the upload was sealed.
  private var sealedProgress = UploadProgress(bytesUploaded: 0, recordsReceived: 0)
  private var closed = false
  /// The checker state last saved to `checkpointKey`.
  private var savedCheckpoint: StreamCheckpoint?

  /// The upload checker's state is saved to the job's checkpoint object by the first sync after
  /// the upload grew `checkpointBytes` past the last one saved, so a restart does not replay the
  /// whole upload to rebuild it, only up to that much.
  init(job: Job, storage: any JobStorage, limits: Limits, ledger: StorageLedger, checkpointBytes: Int64) {
    self.job = job
    self.storage = storage
    self.checkpointKey = .checkpoint(of: job.id)
    self.limits = limits
    self.ledger = ledger
    self.checkpointBytes = checkpointBytes
    self.queue = DispatchQueue(label: "spectra.bulk.spool.\(job.id)")
  }

  func append(_ payload: UploadPayload, at offset: Int64) async throws -> UploadAppendOutcome {
    try await self.queue.run {
      guard !self.sealed else {
        throw BulkError.failedPrecondition("the job's upload is closed; uploads are accepted only while it is Open")
      }
      guard offset >= 0 else { throw BulkError.invalidArgument("offset \(offset) is negative") }
      let file = try self.openFile()
      switch payload {
      case .bytes(let data):
        return try self.appendBytes(data, at: offset, to: file)
      case .records(let columns, let rows):
        return try self.appendRecords(columns: columns, rows: rows, at: offset, to: file)
      }
    }
  }

  func sync() async throws -> UploadProgress {
    try await self.queue.run {
      guard !self.sealed else { return self.sealedProgress }
      return try self.syncOnQueue()
    }
  }

  func seal() async throws -> UploadProgress {
    try await self.queue.run {
      guard !self.sealed else { return self.sealedProgress }
      let progress = try self.syncOnQueue()
      try self.file?.seal()
      self.sealed = true
      self.sealedProgress = progress
      // Nothing more is appended: give back the descriptor and the checking state, which a
      // server holding many finished jobs would otherwise keep for each of them.
      self.file = nil
      self.validator = nil
      return progress
    }
  }

  /// Closes the file; the spool is unusable after.
  func close() async {
    _ = try? await self.queue.run {
      self.file = nil
      self.closed = true
    }
  }

  // MARK: - On the queue

  private func appendBytes(
    _ data: Data,
    at offset: Int64,
    to file: any AppendableObject
  ) throws -> UploadAppendOutcome {
    let stored = file.size
    let length = Int64(data.count)
    guard offset <= stored else {
      throw BulkError(
        code: .outOfRange,
        message: "offset \(offset) is beyond the stored size \(stored); resume from offset \(stored)"
      )
    }
    guard offset + length > stored else {
      return UploadAppendOutcome(skipped: length, storedSize: stored)
    }
    let skipped = stored - offset
    let fresh = data.dropFirst(Int(skipped))
    guard stored + Int64(fresh.count) <= self.limits.maxUploadBytes else {
      throw BulkError(
        code: .resourceExhausted,
        message:
          "the upload would grow to \(stored + Int64(fresh.count)) bytes, over the job limit of \(self.limits.maxUploadBytes) bytes"
      )
    }
    try self.reserve(Int64(fresh.count))
    var buffer = ByteBuffer(bytes: fresh)
    do {
      var validator = try self.currentValidator(file)
      try validator.validate(&buffer, at: stored)
      self.validator = validator
    } catch {
      self.release(Int64(fresh.count))
      // The validator has seen part of a refused piece: rebuild it from the disk next time.
      self.validator = nil
      throw error
    }
    do {
      try self.write(fresh, to: file)
    } catch {
      // The validator has counted bytes that were never stored: rebuild it from what is.
      self.validator = nil
      throw error
    }
    EngineMetrics.bytesUploaded(fresh.count)
    return UploadAppendOutcome(skipped: skipped, storedSize: file.size)
  }

  private func appendRecords(
    columns: [String],
    rows: [[FieldValue]],
    at offset: Int64,
    to file: any AppendableObject
  ) throws
    -> UploadAppendOutcome
  {
    let stored = self.records
    let count = Int64(rows.count)
    guard offset <= stored else {
      throw BulkError(
        code: .outOfRange,
        message: "offset \(offset) is beyond the \(stored) records stored; resume from offset \(stored)"
      )
    }
    try self.checkColumns(columns)
    guard offset + count > stored else {
      return UploadAppendOutcome(skipped: count, storedSize: stored)
    }
    let skipped = Int(stored - offset)
    var frames = Data()
    for row in rows.dropFirst(skipped) {
      FieldValue.appendFrame(row, to: &frames)
    }
    guard file.size + Int64(frames.count) <= self.limits.maxUploadBytes else {
      throw BulkError(
        code: .resourceExhausted,
        message:
          "the upload would grow to \(file.size + Int64(frames.count)) bytes, over the job limit of \(self.limits.maxUploadBytes) bytes"
      )
    }
    if self.columns == nil {
      try self.storeColumns(columns)
    }
    try self.reserve(Int64(frames.count))
    try self.write(frames, to: file)
    EngineMetrics.bytesUploaded(frames.count)
    self.records += count - Int64(skipped)
    return UploadAppendOutcome(skipped: Int64(skipped), storedSize: self.records)
  }

  private func checkColumns(_ columns: [String]) throws {
    guard !columns.isEmpty else { throw BulkError.invalidArgument("records.columns is empty: name the columns") }
    guard columns.count <= self.limits.maxColumns else {
      throw BulkError(
        code: .resourceExhausted,
        message:
          "records.columns names \(columns.count) columns, more than the \(self.limits.maxColumns) allowed (--max-columns)"
      )
    }
    if let stored = self.columns, stored != columns {
      throw BulkError.invalidArgument(
        "records.columns \(columns.prefix(20)) differ from the columns of the first batch \(stored.prefix(20))"
      )
    }
    if self.columns == nil {
      var seen = Set<String>()
      for column in columns where !seen.insert(column).inserted {
        throw BulkError.invalidArgument("records.columns names '\(column.prefix(64))' twice")
      }
    }
  }

  private func storeColumns(_ columns: [String]) throws {
    let encoded = try JSONEncoder().encode(columns)
    try self.reserve(Int64(encoded.count))
    try self.storage.write(encoded, to: UploadObjects.columns(self.job.id))
    self.columns = columns
  }

  /// Admits `bytes` more of this job's upload against the tenant's quota and the free-disk floor.
  private func reserve(_ bytes: Int64) throws(BulkError) {
    try self.ledger.reserve(bytes, jobID: self.job.id, tenantID: self.job.tenantID, in: .staging)
  }

  private func release(_ bytes: Int64) {
    self.ledger.release(bytes, jobID: self.job.id, tenantID: self.job.tenantID, in: .staging)
  }

  /// Appends admitted bytes; on failure the file is cut back and the bytes given back.
  private func write(_ bytes: Data, to file: any AppendableObject) throws {
    do {
      try file.append(bytes)
    } catch {
      self.release(Int64(bytes.count))
      throw error
    }
    self.unsynced = true
  }

  private func syncOnQueue() throws -> UploadProgress {
    let file = try self.openFile()
    if self.unsynced {
      try file.sync()
      self.unsynced = false
      if let point = self.validator?.checkpoint, point != self.savedCheckpoint,
        point.storedOffset - (self.savedCheckpoint?.storedOffset ?? 0) >= self.checkpointBytes
      {
        try self.saveCheckpoint(point)
      }
    }
    switch self.job.contentType {
    case .recordBatch:
      return UploadProgress(bytesUploaded: file.size, recordsReceived: self.records)
    case .csv, .json:
      return UploadProgress(bytesUploaded: file.size, recordsReceived: try self.currentValidator(file).recordsReceived)
    }
  }

  /// The open upload object, opened and recovered from storage on first use.
  private func openFile() throws -> any AppendableObject {
    if let file = self.file { return file }
    guard !self.closed else { throw BulkError(code: .notFound, message: "job '\(self.job.id)' was deleted") }
    let file = try self.storage.openAppendable(UploadObjects.data(of: self.job))
    if self.job.contentType == .recordBatch {
      if let stored = try self.storage.read(UploadObjects.columns(self.job.id), range: nil) {
        self.columns = try JSONDecoder().decode([String].self, from: stored)
      }
      self.records = try Self.recoverFrames(file)
    }
    self.file = file
    return file
  }

  /// Counts the complete length-delimited frames and cuts off a partial last one (a write that
  /// a crash interrupted).
  private static func recoverFrames(_ file: any AppendableObject) throws -> Int64 {
    var frames: Int64 = 0
    var complete: Int64 = 0
    while complete + 4 <= file.size {
      let header = try file.read(at: complete, maxLength: 4)
      guard header.count == 4 else { break }
      let length = header.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
      guard complete + 4 + length <= file.size else { break }
      complete += 4 + length
      frames += 1
    }
    if complete < file.size {
      try file.truncate(to: complete)
    }
    return frames
  }

  /// The validator for what is stored; when there is none, rebuilt from the saved checkpoint and
  /// the bytes after it, or by replaying the whole spool.
  private func currentValidator(_ file: any AppendableObject) throws -> UploadValidator {
    if let validator = self.validator { return validator }
    var validator: UploadValidator
    var offset: Int64 = 0
    if let checkpoint = self.loadCheckpoint(storedSize: file.size) {
      let prefix = try file.readPiece(at: 0, maxLength: Int(checkpoint.storedPrefixLength))
      validator = try UploadValidator(job: self.job, limits: self.limits, resumingAt: checkpoint, storedPrefix: prefix)
      offset = checkpoint.storedOffset
      self.savedCheckpoint = checkpoint
    } else {
      validator = try UploadValidator(job: self.job, limits: self.limits)
    }
    try file.read(from: offset, upTo: file.size) { piece in
      var buffer = piece
      let length = Int64(buffer.readableBytes)
      try validator.validate(&buffer, at: offset)
      offset += length
    }
    self.validator = validator
    return validator
  }

  /// Saves the checker's state after an fsync of the upload: written whole, then renamed over the
  /// old one. An older checkpoint, or none, is still right (the upload only grows), so a crash
  /// between the two costs a longer replay, never a wrong count.
  private func saveCheckpoint(_ point: StreamCheckpoint) throws {
    try self.storage.write(Data(point.encoded().readableBytesView), to: self.checkpointKey)
    self.savedCheckpoint = point
  }

  /// The saved checkpoint when it fits the job and what is stored; `nil` (replay all) otherwise:
  /// none, an older format, or a damaged one.
  private func loadCheckpoint(storedSize: Int64) -> StreamCheckpoint? {
    guard self.job.contentType != .recordBatch,
      let data = try? self.storage.read(self.checkpointKey, range: nil),
      let checkpoint = UploadValidator.checkpoint(decoding: ByteBuffer(bytes: data), job: self.job),
      checkpoint.storedPrefixLength <= checkpoint.storedOffset, checkpoint.storedOffset <= storedSize
    else { return nil }
    return checkpoint
  }
}

/// The objects a job's upload is kept in, named in one place for the spool that writes them and
/// the reader that cuts them into chunks.
enum UploadObjects {
  /// The bytes of a CSV or JSON upload, as sent.
  static func text(_ jobID: String) -> StorageKey {
    StorageKey(jobID: jobID, area: .upload, name: "upload")
  }

  /// The rows of a record-batch upload, as length-delimited frames.
  static func records(_ jobID: String) -> StorageKey {
    StorageKey(jobID: jobID, area: .upload, name: "records")
  }

  /// The columns of a record-batch upload, a JSON array of names.
  static func columns(_ jobID: String) -> StorageKey {
    StorageKey(jobID: jobID, area: .upload, name: "columns.json")
  }

  /// The object that grows as the job's upload arrives.
  static func data(of job: Job) -> StorageKey {
    job.contentType == .recordBatch ? Self.records(job.id) : Self.text(job.id)
  }
}

extension AppendableObject {
  /// Up to `maxLength` bytes from `position`, for the upload checker.
  func readPiece(at position: Int64, maxLength: Int) throws -> ByteBuffer {
    ByteBuffer(bytes: try self.read(at: position, maxLength: maxLength))
  }

  /// Calls `body` with successive pieces of the object from `start` to `end`, 1 MiB at a time.
  func read(from start: Int64, upTo end: Int64, _ body: (ByteBuffer) throws -> Void) throws {
    var position = start
    while position < end {
      let piece = try self.readPiece(at: position, maxLength: Int(min(1 << 20, end - position)))
      guard piece.readableBytes > 0 else { break }
      position += Int64(piece.readableBytes)
      try body(piece)
    }
  }
}
