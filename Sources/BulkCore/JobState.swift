/// The states of a job, as in the Salesforce Bulk API 2.0 diagram:
/// `Open → UploadComplete → InProgress → JobComplete | Failed`, or `Aborted`.
package enum JobState: String, CaseIterable, Hashable, Sendable {
  case open = "Open"
  case uploadComplete = "UploadComplete"
  case inProgress = "InProgress"
  case jobComplete = "JobComplete"
  case failed = "Failed"
  case aborted = "Aborted"

  /// Whether the job can no longer change.
  package var isTerminal: Bool {
    switch self {
    case .jobComplete, .failed, .aborted: true
    case .open, .uploadComplete, .inProgress: false
    }
  }
}
