package import BulkCore
package import BulkProto
internal import Foundation
internal import SwiftProtobuf

/// Hand-written mapping between the generated messages and the domain.
extension Spectra_Bulk_V1_Job {
  package init(_ job: Job) {
    self.init()
    self.jobID = job.id
    self.state = .init(job.state)
    self.operation = .init(job.operation)
    self.object = job.object
    self.contentType = .init(job.contentType)
    self.compression = .init(job.compression)
    self.query = job.query
    self.externalIDField = job.externalIDField
    self.createdAt = Google_Protobuf_Timestamp(date: job.createdAt)
    self.updatedAt = Google_Protobuf_Timestamp(date: job.updatedAt)
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

extension Spectra_Bulk_V1_JobState {
  package init(_ state: JobState) {
    switch state {
    case .open: self = .open
    case .uploadComplete: self = .uploadComplete
    case .inProgress: self = .inProgress
    case .jobComplete: self = .jobComplete
    case .failed: self = .failed
    case .aborted: self = .aborted
    }
  }

  /// The domain state; `nil` for `JOB_STATE_UNSPECIFIED`.
  package func domain(field: String) throws(BulkError) -> JobState? {
    switch self {
    case .unspecified: nil
    case .open: .open
    case .uploadComplete: .uploadComplete
    case .inProgress: .inProgress
    case .jobComplete: .jobComplete
    case .failed: .failed
    case .aborted: .aborted
    case .UNRECOGNIZED(let value): throw .invalidArgument("\(field) \(value) is not a known JobState")
    }
  }
}

extension Spectra_Bulk_V1_Operation {
  package init(_ operation: BulkCore.Operation) {
    switch operation {
    case .query: self = .query
    case .insert: self = .insert
    case .update: self = .update
    case .upsert: self = .upsert
    case .delete: self = .delete
    }
  }

  /// The domain operation; `nil` for `OPERATION_UNSPECIFIED`.
  package func domain() throws(BulkError) -> BulkCore.Operation? {
    switch self {
    case .unspecified: nil
    case .query: .query
    case .insert: .insert
    case .update: .update
    case .upsert: .upsert
    case .delete: .delete
    case .UNRECOGNIZED(let value): throw .invalidArgument("operation \(value) is not a known Operation")
    }
  }
}

extension Spectra_Bulk_V1_ContentType {
  package init(_ contentType: ContentType) {
    switch contentType {
    case .csv: self = .csv
    case .json: self = .json
    case .recordBatch: self = .recordBatch
    }
  }

  /// The domain content type; `nil` for `CONTENT_TYPE_UNSPECIFIED`.
  package func domain() throws(BulkError) -> ContentType? {
    switch self {
    case .unspecified: nil
    case .csv: .csv
    case .json: .json
    case .recordBatch: .recordBatch
    case .UNRECOGNIZED(let value): throw .invalidArgument("content_type \(value) is not a known ContentType")
    }
  }
}

extension Spectra_Bulk_V1_Compression {
  package init(_ compression: Compression) {
    switch compression {
    case .none: self = .none
    case .gzip: self = .gzip
    }
  }

  /// The domain compression; `nil` for `COMPRESSION_UNSPECIFIED`.
  package func domain() throws(BulkError) -> Compression? {
    switch self {
    case .unspecified: nil
    case .none: Compression.none
    case .gzip: .gzip
    case .UNRECOGNIZED(let value): throw .invalidArgument("compression \(value) is not a known Compression")
    }
  }
}

extension JobSpec {
  package init(_ request: Spectra_Bulk_V1_CreateJobRequest) throws(BulkError) {
    self.init(
      operation: try request.operation.domain(),
      object: request.object,
      contentType: try request.contentType.domain(),
      compression: try request.compression.domain(),
      query: request.query,
      externalIDField: request.externalIDField,
      columnDelimiter: request.columnDelimiter
    )
  }
}

extension UploadPiece {
  /// The piece a message carries. Record batches are checked and their rows mapped to values
  /// here, so the staging store keeps rows without knowing the messages.
  package init(_ message: Spectra_Bulk_V1_UploadJobDataRequest) throws(BulkError) {
    let payload: UploadPayload?
    if message.hasRecords {
      guard message.data.isEmpty else {
        throw .invalidArgument("a message carries data or records, not both")
      }
      let columns = message.records.columns
      var rows: [[FieldValue]] = []
      rows.reserveCapacity(message.records.rows.count)
      for (index, row) in message.records.rows.enumerated() {
        guard row.values.count == columns.count else {
          throw .invalidArgument(
            "records.rows[\(index)] (record \(message.offset + Int64(index) + 1)) has \(row.values.count) values, records.columns has \(columns.count)"
          )
        }
        rows.append(row.values.map(FieldValue.init))
      }
      payload = .records(columns: columns, rows: rows)
    } else {
      payload = message.data.isEmpty ? nil : .bytes(message.data)
    }
    self.init(jobID: message.jobID, offset: message.offset, payload: payload)
  }
}

extension Spectra_Bulk_V1_ResultSet {
  /// The domain result set; `nil` for `RESULT_SET_UNSPECIFIED` (the job's default).
  package func domain() throws(BulkError) -> ResultSet? {
    switch self {
    case .unspecified: nil
    case .successful: .successful
    case .failed: .failed
    case .unprocessed: .unprocessed
    case .query: .query
    case .UNRECOGNIZED(let value): throw .invalidArgument("result_set \(value) is not a known ResultSet")
    }
  }
}

extension Spectra_Bulk_V1_ResultChunk {
  /// A chunk of results: typed `records` for record-batch jobs, `data` for the others.
  package init(_ piece: ResultPiece, nextLocator: String) {
    self.init()
    if piece.columns.isEmpty {
      self.data = piece.data
    } else {
      self.records.columns = piece.columns
      self.records.rows = piece.rows.map { values in
        var row = Spectra_Bulk_V1_Row()
        row.values = values.map(Spectra_Bulk_V1_Value.init)
        return row
      }
    }
    self.recordCount = piece.recordCount
    self.nextLocator = nextLocator
  }
}

extension Spectra_Bulk_V1_Value {
  /// The protobuf value of a field; JSON numbers kept as text become strings.
  package init(_ value: FieldValue) {
    self.init()
    switch value {
    case .null: self.nullValue = .nullValue
    case .text(let text), .number(let text): self.stringValue = text
    case .integer(let integer): self.intValue = integer
    case .double(let double): self.doubleValue = double
    case .bool(let bool): self.boolValue = bool
    case .bytes(let bytes): self.bytesValue = Data(bytes)
    case .timestamp(let date): self.timestampValue = Google_Protobuf_Timestamp(date: date)
    }
  }
}

extension FieldValue {
  /// The field value of a protobuf value; an unset value is NULL.
  package init(_ value: Spectra_Bulk_V1_Value) {
    switch value.kind {
    case .none, .nullValue: self = .null
    case .stringValue(let string): self = .text(string)
    case .intValue(let integer): self = .integer(integer)
    case .doubleValue(let double): self = .double(double)
    case .boolValue(let bool): self = .bool(bool)
    case .bytesValue(let bytes): self = .bytes(Array(bytes))
    case .timestampValue(let timestamp): self = .timestamp(timestamp.date)
    }
  }
}
