internal import BulkGRPCClient
internal import BulkProto
internal import Foundation

/// The outcome of `spectra-bulk load`, printed for people or as JSON.
struct LoadSummary: Encodable {
  var jobID: String
  var state: String
  var object: String
  var operation: String
  var recordsTotal: Int64
  var recordsProcessed: Int64
  var recordsSucceeded: Int64
  var recordsFailed: Int64
  var recordsUnprocessed: Int64 = 0
  var bytesUploaded: Int64
  var uploadResumes: Int
  var wireCompression: String
  var failedFile: String?
  var unprocessedFile: String?
  var errorMessage: String?
  var seconds: Double = 0
  /// The job's exit status (see ``Spectra_Bulk_V1_Job/exitStatus``), not printed in JSON.
  var exitStatus: Int32

  enum CodingKeys: String, CodingKey {
    case jobID = "job_id"
    case state, object, operation, seconds
    case recordsTotal = "records_total"
    case recordsProcessed = "records_processed"
    case recordsSucceeded = "records_succeeded"
    case recordsFailed = "records_failed"
    case recordsUnprocessed = "records_unprocessed"
    case bytesUploaded = "bytes_uploaded"
    case uploadResumes = "upload_resumes"
    case wireCompression = "wire_compression"
    case failedFile = "failed_file"
    case unprocessedFile = "unprocessed_file"
    case errorMessage = "error_message"
  }

  init(job: Spectra_Bulk_V1_Job, uploaded: ResumableUpload.Outcome) {
    self.jobID = job.jobID
    self.state = job.state.displayName
    self.object = job.object
    self.operation = job.operation.displayName
    self.recordsTotal = job.numberRecordsTotal
    self.recordsProcessed = job.numberRecordsProcessed
    self.recordsSucceeded = job.numberRecordsProcessed - job.numberRecordsFailed
    self.recordsFailed = job.numberRecordsFailed
    self.bytesUploaded = uploaded.bytesUploaded
    self.uploadResumes = uploaded.resumes
    self.wireCompression = uploaded.compressed ? "gzip" : "none"
    self.errorMessage = job.errorMessage.isEmpty ? nil : job.errorMessage
    self.exitStatus = job.exitStatus
  }

  /// One JSON object with sorted keys.
  func jsonText() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(self), as: UTF8.self)
  }

  /// A few lines for people.
  var text: String {
    var lines = [
      "job \(self.jobID) \(self.state): \(self.recordsProcessed) of \(self.recordsTotal) records processed, "
        + "\(self.recordsSucceeded) succeeded, \(self.recordsFailed) failed"
        + (self.recordsUnprocessed > 0 ? ", \(self.recordsUnprocessed) unprocessed" : "")
        + String(format: " (%.1f s)", self.seconds)
    ]
    if let error = self.errorMessage { lines.append("error: \(error)") }
    if let file = self.failedFile { lines.append("failed records: \(file)") }
    if let file = self.unprocessedFile { lines.append("unprocessed records: \(file)") }
    if self.uploadResumes > 0 { lines.append("the upload resumed \(self.uploadResumes) time(s) after a broken stream") }
    return lines.joined(separator: "\n")
  }
}
