/// The configurable limits of the service layer.
package struct Limits: Hashable, Sendable {
  /// Jobs of one tenant that may be unfinished at once; more are `RESOURCE_EXHAUSTED`.
  package var maxActiveJobsPerTenant: Int
  /// The page size of a listing that names none.
  package var defaultPageSize: Int
  /// The largest page size; larger requests get this many.
  package var maxPageSize: Int

  package init(maxActiveJobsPerTenant: Int = 1000, defaultPageSize: Int = 25, maxPageSize: Int = 1000) {
    self.maxActiveJobsPerTenant = maxActiveJobsPerTenant
    self.defaultPageSize = defaultPageSize
    self.maxPageSize = maxPageSize
  }
}
