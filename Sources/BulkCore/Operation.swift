/// What a job does to its object.
package enum Operation: String, CaseIterable, Hashable, Sendable {
  case query
  case insert
  case update
  case upsert
  case delete

  /// Whether records are uploaded to the job (every operation but `query`).
  package var isIngest: Bool { self != .query }
}

/// The format of a job's uploaded data and of its results.
package enum ContentType: String, CaseIterable, Hashable, Sendable {
  case csv = "CSV"
  case json = "JSON"
  case recordBatch = "RECORD_BATCH"
}

/// How the uploaded bytes are compressed.
package enum Compression: String, CaseIterable, Hashable, Sendable {
  case none = "NONE"
  case gzip = "GZIP"
}
