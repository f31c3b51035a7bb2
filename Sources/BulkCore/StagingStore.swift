package import Foundation

/// Durable storage of what clients upload to a job, before the engine processes it.
///
/// The stored size is always recovered from storage (`JobStorage`), never trusted from memory, and
/// everything an `UploadProgress` reports has been made durable (fsync, or a stored part) first.
package protocol StagingStore: Sendable {
  /// Appends the part of `piece` beyond what is stored, checking it first.
  ///
  /// - Throws: `OUT_OF_RANGE` when the piece starts beyond the stored size; `INVALID_ARGUMENT`
  ///   for data that cannot be right (bad gzip, a bad CSV header, changed columns), naming the
  ///   byte offset; `RESOURCE_EXHAUSTED` past a size limit; `FAILED_PRECONDITION` after `seal`.
  ///   Nothing of a refused piece is stored.
  func append(_ piece: UploadPayload, at offset: Int64, to job: Job) async throws -> UploadAppendOutcome

  /// Makes everything appended durable and reports it.
  func sync(_ job: Job) async throws -> UploadProgress

  /// Makes everything durable, refuses further appends, and reports the final size.
  func seal(_ job: Job) async throws -> UploadProgress

  /// Removes everything staged for the job.
  func remove(jobID: String) async throws
}

/// One message of an upload stream, without its transport.
package enum UploadPayload: Sendable {
  /// Bytes of a CSV or JSON upload, as sent (compressed for gzip jobs).
  case bytes(Data)
  /// Typed rows of a `RECORD_BATCH` upload: the batch's columns and its rows' values, each row
  /// as many as there are columns.
  case records(columns: [String], rows: [[FieldValue]])

  /// The size of the payload in the unit of its offsets: bytes, or records.
  package var length: Int64 {
    switch self {
    case .bytes(let data): Int64(data.count)
    case .records(_, let rows): Int64(rows.count)
    }
  }
}

/// What an append did.
package struct UploadAppendOutcome: Hashable, Sendable {
  /// Units of the piece (bytes or records) skipped because they were stored already.
  package var skipped: Int64
  /// The stored size after the append, in the unit of offsets.
  package var storedSize: Int64

  package init(skipped: Int64, storedSize: Int64) {
    self.skipped = skipped
    self.storedSize = storedSize
  }
}

/// The durable state of a job's upload.
package struct UploadProgress: Hashable, Sendable {
  /// Bytes stored, as sent (for record batches: the spool's bytes).
  package var bytesUploaded: Int64
  /// Complete records received so far.
  package var recordsReceived: Int64

  package init(bytesUploaded: Int64, recordsReceived: Int64) {
    self.bytesUploaded = bytesUploaded
    self.recordsReceived = recordsReceived
  }
}

/// One message of an upload stream as the service sees it.
package struct UploadPiece: Sendable {
  /// The job; required in the first message, optional (or the same) after.
  package var jobID: String
  /// Where the payload starts in the job's whole upload: a byte offset, or a record index.
  package var offset: Int64
  /// The data; `nil` for a message that carries none.
  package var payload: UploadPayload?

  package init(jobID: String, offset: Int64, payload: UploadPayload?) {
    self.jobID = jobID
    self.offset = offset
    self.payload = payload
  }
}

/// The answer to a finished upload stream.
package struct UploadReceipt: Hashable, Sendable {
  package var jobID: String
  package var progress: UploadProgress

  package init(jobID: String, progress: UploadProgress) {
    self.jobID = jobID
    self.progress = progress
  }
}
