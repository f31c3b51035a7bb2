package import BulkProto

extension Spectra_Bulk_V1_Job {
  /// `JobComplete`, `Failed` or `Aborted`: nothing will change any more.
  package var isTerminal: Bool {
    self.state == .jobComplete || self.state == .failed || self.state == .aborted
  }
}
