internal import BulkCore
internal import Metrics

/// The engine's metrics, reported through swift-metrics (Prometheus at `/metrics`).
enum EngineMetrics {
  /// Records handled by chunks (applied or failed), or rows a query job exported, by operation.
  static func recordsProcessed(_ count: Int64, operation: BulkCore.Operation) {
    Counter(label: "spectra_records_processed_total", dimensions: [("operation", operation.rawValue)])
      .increment(by: count)
  }

  /// Records that failed, by operation.
  static func recordsFailed(_ count: Int64, operation: BulkCore.Operation) {
    Counter(label: "spectra_records_failed_total", dimensions: [("operation", operation.rawValue)])
      .increment(by: count)
  }

  /// How long one chunk took, from parsing to its results written.
  static func chunkDuration(_ duration: Duration) {
    Metrics.Timer(label: "spectra_chunk_duration_seconds").record(duration: duration)
  }

  /// Upload bytes stored, as sent.
  static func bytesUploaded(_ count: Int) {
    Counter(label: "spectra_upload_bytes_total").increment(by: count)
  }

  /// Jobs in each state, as the catalog counts them.
  static func jobs(_ counts: [JobState: Int]) {
    for state in JobState.allCases {
      Gauge(label: "spectra_jobs", dimensions: [("state", state.rawValue)]).record(counts[state] ?? 0)
    }
  }
}
