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

  /// Bytes one tenant may keep stored: the uploads and results of all its jobs that still exist,
  /// finished ones included (`--max-tenant-bytes`).
  ///
  /// 100 GiB by default: a sizeable share of one server's disk, so that a few tenants filling
  /// theirs still leave room for the others, while a tenant loading 1 GiB jobs can keep dozens
  /// of them with their results for the 7 days of retention.
  package var maxTenantBytes: Int64
  /// Free bytes the data directory's file system keeps: below this, uploads and new result files
  /// are refused (`--min-free-bytes`).
  ///
  /// 1 GiB by default: room for the catalog's journal and the writes already under way, so the
  /// catalog never meets a full disk, yet small enough for a laptop or a CI machine with a few
  /// GB free.
  package var minFreeBytes: Int64
  /// Bytes of results one query job may write; past it the job fails
  /// (`--max-query-result-bytes`).
  ///
  /// 10 GiB by default: ten times the default upload limit, a result no client downloads by
  /// mistake, and a tenth of the default tenant quota, so a runaway cross join fails long before
  /// it fills the tenant's share or the disk.
  package var maxQueryResultBytes: Int64
  /// UTF-8 bytes of a query job's SQL (`--max-query-bytes`).
  ///
  /// 100,000 by default, as Redshift's Data API allows: far more than a hand-written query, and
  /// it keeps a generated one from costing the parser and the catalog row unbounded memory.
  package var maxQueryBytes: Int
  /// Columns an upload may name: fields of a CSV header, `records.columns`, or keys of the first
  /// JSON record (`--max-columns`).
  ///
  /// 4,096 by default: more than any warehouse table here can have (PostgreSQL allows 1,600
  /// columns, SQLite 2,000 by default), so a wider header is a mistake, refused before it is
  /// stored.
  package var maxColumns: Int
  /// Bytes of one value of an uploaded record (`--max-value-bytes`); a longer one fails its
  /// record.
  ///
  /// 16 MiB by default: a quarter of the longest record the readers accept (64 MiB), enough for a
  /// document in a text column, and small enough that a chunk of such values stays within the
  /// engine's memory budget.
  package var maxValueBytes: Int

  package init(
    maxActiveJobsPerTenant: Int = 1000,
    defaultPageSize: Int = 25,
    maxPageSize: Int = 1000,
    maxUploadBytes: Int64 = 1 << 30,
    maxInflatedBytes: Int64 = 16 << 30,
    maxInflateRatio: Int64 = 100,
    uploadSyncInterval: Int64 = 64 << 20,
    maxTenantBytes: Int64 = 100 << 30,
    minFreeBytes: Int64 = 1 << 30,
    maxQueryResultBytes: Int64 = 10 << 30,
    maxQueryBytes: Int = 100_000,
    maxColumns: Int = 4096,
    maxValueBytes: Int = 16 << 20
  ) {
    self.maxActiveJobsPerTenant = maxActiveJobsPerTenant
    self.defaultPageSize = defaultPageSize
    self.maxPageSize = maxPageSize
    self.maxUploadBytes = maxUploadBytes
    self.maxInflatedBytes = maxInflatedBytes
    self.maxInflateRatio = maxInflateRatio
    self.uploadSyncInterval = uploadSyncInterval
    self.maxTenantBytes = maxTenantBytes
    self.minFreeBytes = minFreeBytes
    self.maxQueryResultBytes = maxQueryResultBytes
    self.maxQueryBytes = maxQueryBytes
    self.maxColumns = maxColumns
    self.maxValueBytes = maxValueBytes
  }
}
