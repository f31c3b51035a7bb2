internal import BulkProto
internal import Foundation
internal import SwiftProtobuf

extension Spectra_Bulk_V1_JobState {
  /// The state as the REST surface and the README name it: `Open` … `Aborted`.
  var displayName: String {
    switch self {
    case .open: "Open"
    case .uploadComplete: "UploadComplete"
    case .inProgress: "InProgress"
    case .jobComplete: "JobComplete"
    case .failed: "Failed"
    case .aborted: "Aborted"
    case .unspecified: "Unspecified"
    case .UNRECOGNIZED(let value): "State\(value)"
    }
  }

  /// Parses a state given on the command line: `InProgress`, `in-progress`, `in_progress` or the
  /// proto name `JOB_STATE_IN_PROGRESS`.
  init?(argument: String) {
    let key = argument.lowercased().replacingOccurrences(of: "job_state_", with: "")
      .filter { $0 != "_" && $0 != "-" }
    let states: [Self] = [.open, .uploadComplete, .inProgress, .jobComplete, .failed, .aborted]
    guard let state = states.first(where: { $0.displayName.lowercased() == key }) else { return nil }
    self = state
  }
}

extension Spectra_Bulk_V1_Job {
  /// The job as proto3 JSON with the proto's field names (`job_id`, `number_records_failed`).
  func jsonText() throws -> String {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    return try self.jsonString(options: options)
  }

  /// The job as `field: value` lines for people.
  var details: String {
    var lines: [(String, String)] = [
      ("job", self.jobID),
      ("state", self.state.displayName),
      ("operation", self.operation.displayName),
      ("object", self.object),
      ("content type", self.contentType == .json ? "JSON" : self.contentType == .recordBatch ? "RecordBatch" : "CSV"),
    ]
    if self.compression == .gzip { lines.append(("compression", "gzip")) }
    if !self.query.isEmpty { lines.append(("query", self.query)) }
    if !self.externalIDField.isEmpty { lines.append(("external id", self.externalIDField)) }
    lines += [
      ("created", Self.timestamp(self.createdAt)),
      ("updated", Self.timestamp(self.updatedAt)),
      ("uploaded", "\(self.bytesUploaded) bytes"),
      (
        "records",
        "\(self.numberRecordsProcessed) processed of \(self.numberRecordsTotal), \(self.numberRecordsFailed) failed"
      ),
      ("progress", "\(self.progressPercentage)%, chunks \(self.numberChunksCompleted)/\(self.numberChunks)"),
    ]
    if self.totalProcessingTimeMs > 0 { lines.append(("processing time", "\(self.totalProcessingTimeMs) ms")) }
    if !self.errorMessage.isEmpty { lines.append(("error", self.errorMessage)) }
    return lines.map { "\($0.0 + ":")".padding(toLength: 17, withPad: " ", startingAt: 0) + $0.1 }
      .joined(separator: "\n")
  }

  private static func timestamp(_ time: Google_Protobuf_Timestamp) -> String {
    ISO8601DateFormatter().string(from: time.date)
  }
}

extension Spectra_Bulk_V1_Operation {
  /// `insert`, `update`, `upsert`, `delete` or `query`, as the command line and REST spell it.
  var displayName: String {
    switch self {
    case .insert: "insert"
    case .update: "update"
    case .upsert: "upsert"
    case .delete: "delete"
    case .query: "query"
    case .unspecified: "unspecified"
    case .UNRECOGNIZED(let value): "operation\(value)"
    }
  }
}

extension Spectra_Bulk_V1_Job {
  /// The exit status of a command that followed this job to its end: 0 when every record
  /// succeeded, 2 when some failed, 1 when the job failed or was aborted.
  var exitStatus: Int32 {
    switch self.state {
    case .jobComplete: self.numberRecordsFailed > 0 ? 2 : 0
    default: 1
    }
  }
}
