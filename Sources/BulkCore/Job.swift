package import Foundation

/// A bulk job: what to do, on which object, and how far it has got.
package struct Job: Hashable, Sendable {
  package var id: String
  package var tenantID: String
  package var state: JobState
  package var operation: Operation
  /// The target table; for query jobs the main table.
  package var object: String
  package var contentType: ContentType
  package var compression: Compression
  /// The SQL of a query job; empty for the others.
  package var query: String
  /// The matching column of update, upsert and delete; empty means the primary key.
  package var externalIDField: String
  package var columnDelimiter: Character
  package var createdAt: Date
  package var updatedAt: Date
  package var numberRecordsProcessed: Int64
  package var numberRecordsFailed: Int64
  package var numberRecordsTotal: Int64
  package var bytesUploaded: Int64
  package var totalProcessingTimeMs: Int64
  package var numberChunks: Int32
  package var numberChunksCompleted: Int32
  package var errorMessage: String
  /// Records per chunk, fixed when the job starts processing so that a restart cuts the same
  /// chunks; 0 until then.
  package var chunkRecords: Int32

  package init(
    id: String,
    tenantID: String,
    state: JobState = .open,
    operation: Operation,
    object: String,
    contentType: ContentType = .csv,
    compression: Compression = .none,
    query: String = "",
    externalIDField: String = "",
    columnDelimiter: Character = ",",
    createdAt: Date,
    updatedAt: Date? = nil,
    numberRecordsProcessed: Int64 = 0,
    numberRecordsFailed: Int64 = 0,
    numberRecordsTotal: Int64 = 0,
    bytesUploaded: Int64 = 0,
    totalProcessingTimeMs: Int64 = 0,
    numberChunks: Int32 = 0,
    numberChunksCompleted: Int32 = 0,
    errorMessage: String = "",
    chunkRecords: Int32 = 0
  ) {
    self.id = id
    self.tenantID = tenantID
    self.state = state
    self.operation = operation
    self.object = object
    self.contentType = contentType
    self.compression = compression
    self.query = query
    self.externalIDField = externalIDField
    self.columnDelimiter = columnDelimiter
    self.createdAt = createdAt
    self.updatedAt = updatedAt ?? createdAt
    self.numberRecordsProcessed = numberRecordsProcessed
    self.numberRecordsFailed = numberRecordsFailed
    self.numberRecordsTotal = numberRecordsTotal
    self.bytesUploaded = bytesUploaded
    self.totalProcessingTimeMs = totalProcessingTimeMs
    self.numberChunks = numberChunks
    self.numberChunksCompleted = numberChunksCompleted
    self.errorMessage = errorMessage
    self.chunkRecords = chunkRecords
  }

  /// Percentage of the job done, 0 to 100: records processed of the total while processing,
  /// 100 once the job completed.
  package var progressPercentage: Int32 {
    if self.state == .jobComplete { return 100 }
    guard self.numberRecordsTotal > 0 else { return 0 }
    let ratio = Double(self.numberRecordsProcessed) / Double(self.numberRecordsTotal)
    return Int32(min(100, max(0, (ratio * 100).rounded(.down))))
  }

  /// A new random job id, `bulk-job-` and 20 lowercase letters and digits (about 103 bits).
  package static func makeID() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var generator = SystemRandomNumberGenerator()
    let suffix = (0 ..< 20).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] }
    return "bulk-job-" + String(suffix)
  }
}
