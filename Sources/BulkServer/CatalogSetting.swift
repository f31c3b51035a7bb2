/// Which job catalog the server keeps its jobs in.
package enum CatalogSetting: Hashable, Sendable {
  /// The embedded SQLite catalog, for one instance: the file at `path`, or `catalog.sqlite` in
  /// the data directory when `nil`.
  case sqlite(path: String?)
}
