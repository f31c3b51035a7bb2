/// The configurable limits of the service layer.
package struct Limits: Hashable, Sendable {
  /// Jobs of one tenant that may be unfinished at once; more are `RESOURCE_EXHAUSTED`.
  package var maxActiveJobsPerTenant: Int
  /// The page size of a listing that names none.
  package var defaultPageSize: Int
  /// The largest page size; larger requests get this many.
  package var maxPageSize: Int

  /// Bytes one job may upload, as sent (compressed for gzip jobs).
  package var maxUploadBytes: Int64
  /// Bytes a gzip upload may inflate to.
  package var maxInflatedBytes: Int64
  /// Largest ratio of inflated to compressed bytes; stops gzip bombs early.
  package var maxInflateRatio: Int64
  /// Bytes appended between two fsyncs of an upload stream; each one updates `bytes_uploaded`.
  package var uploadSyncInterval: Int64

  package init(
    maxActiveJobsPerTenant: Int = 1000,
    defaultPageSize: Int = 25,
    maxPageSize: Int = 1000,
    maxUploadBytes: Int64 = 1 << 30,
    maxInflatedBytes: Int64 = 16 << 30,
    maxInflateRatio: Int64 = 100,
    uploadSyncInterval: Int64 = 64 << 20
  ) {
    self.maxActiveJobsPerTenant = maxActiveJobsPerTenant
    self.defaultPageSize = defaultPageSize
    self.maxPageSize = maxPageSize
    self.maxUploadBytes = maxUploadBytes
    self.maxInflatedBytes = maxInflatedBytes
    self.maxInflateRatio = maxInflateRatio
    self.uploadSyncInterval = uploadSyncInterval
  }
}
