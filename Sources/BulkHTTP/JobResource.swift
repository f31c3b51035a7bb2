internal import BulkCore

/// A job as REST returns it: the proto's `Job` fields with their snake_case names, the seed's
/// state strings, and ISO 8601 timestamps.
struct JobResource: Encodable {
  var jobID: String
  var state: String
  var operation: String
  var object: String
  var contentType: String
  var compression: String
  var query: String
  var externalIDField: String
  var createdAt: String
  var updatedAt: String
  var numberRecordsProcessed: Int64
  var numberRecordsFailed: Int64
  var progressPercentage: Int32
  var bytesUploaded: Int64
  var errorMessage: String
  var tenantID: String
  var numberRecordsTotal: Int64
  var totalProcessingTimeMs: Int64
  var columnDelimiter: String
  var numberChunks: Int32
  var numberChunksCompleted: Int32

  enum CodingKeys: String, CodingKey {
    case jobID = "job_id"
    case state
    case operation
    case object
    case contentType = "content_type"
    case compression
    case query
    case externalIDField = "external_id_field"
    case createdAt = "created_at"
    case updatedAt = "updated_at"
    case numberRecordsProcessed = "number_records_processed"
    case numberRecordsFailed = "number_records_failed"
    case progressPercentage = "progress_percentage"
    case bytesUploaded = "bytes_uploaded"
    case errorMessage = "error_message"
    case tenantID = "tenant_id"
    case numberRecordsTotal = "number_records_total"
    case totalProcessingTimeMs = "total_processing_time_ms"
    case columnDelimiter = "column_delimiter"
    case numberChunks = "number_chunks"
    case numberChunksCompleted = "number_chunks_completed"
  }

  init(_ job: Job) {
    self.jobID = job.id
    self.state = job.state.rawValue
    self.operation = job.operation.rawValue
    self.object = job.object
    self.contentType = job.contentType.rawValue
    self.compression = job.compression.rawValue
    self.query = job.query
    self.externalIDField = job.externalIDField
    self.createdAt = job.createdAt.restTimestamp
    self.updatedAt = job.updatedAt.restTimestamp
    self.numberRecordsProcessed = job.numberRecordsProcessed
    self.numberRecordsFailed = job.numberRecordsFailed
    self.progressPercentage = job.progressPercentage
    self.bytesUploaded = job.bytesUploaded
    self.errorMessage = job.errorMessage
    self.tenantID = job.tenantID
    self.numberRecordsTotal = job.numberRecordsTotal
    self.totalProcessingTimeMs = job.totalProcessingTimeMs
    self.columnDelimiter = String(job.columnDelimiter)
    self.numberChunks = job.numberChunks
    self.numberChunksCompleted = job.numberChunksCompleted
  }
}
