package import Foundation

/// What processes closed jobs: the engine. `JobService` tells it about closes and aborts, and
/// reads results through it.
package protocol JobProcessor: Sendable {
  /// The job was closed (it is `UploadComplete`): process it.
  func start(_ job: Job) async

  /// The job was aborted: start no new chunk of it.
  func abort(_ job: Job) async

  /// The job is being deleted: remove its results and ledger rows.
  func remove(_ job: Job) async throws

  /// Streams one result set of a terminal job as pieces of one document in the job's format,
  /// from `locator` on, at most `maxRecords` records (0 means all the rest).
  ///
  /// - Returns: the locator of what follows, empty when nothing is left.
  func results(
    of job: Job,
    set: ResultSet,
    locator: String,
    maxRecords: Int64,
    emit: @Sendable (ResultPiece) async throws -> Void
  ) async throws -> String
}

/// The result sets of a job.
package enum ResultSet: String, CaseIterable, Hashable, Sendable {
  case successful
  case failed
  case unprocessed
  case query
}

/// A piece of a results document.
package struct ResultPiece: Hashable, Sendable {
  /// The piece of the document in the job's text format (CSV for record-batch jobs).
  package var data: Data
  /// Records that end in this piece.
  package var recordCount: Int64
  /// For record-batch jobs: the result columns, and the piece's records as typed rows.
  package var columns: [String]
  package var rows: [[FieldValue]]

  package init(data: Data, recordCount: Int64, columns: [String] = [], rows: [[FieldValue]] = []) {
    self.data = data
    self.recordCount = recordCount
    self.columns = columns
    self.rows = rows
  }
}
