/// Which job catalog the server keeps its jobs in.
package enum CatalogSetting: Hashable, Sendable {
  /// The embedded SQLite catalog, for one instance: the file at `path`, or `catalog.sqlite` in
  /// the data directory when `nil`.
  case sqlite(path: String?)
  /// The catalog in the PostgreSQL database at `url` (in its schema `spectra`), which several
  /// instances may share.
  case postgres(url: String)

  /// The setting `--catalog` names: a `postgresql://` (or `postgres://`) URL, or `sqlite:PATH`
  /// (`sqlite:` alone for the data directory's file); `nil` for anything else.
  package init?(flag text: String) {
    if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
      self = .postgres(url: text)
    } else if text.hasPrefix("sqlite:") {
      let path = String(text.dropFirst("sqlite:".count))
      self = .sqlite(path: path.isEmpty ? nil : path)
    } else {
      return nil
    }
  }
}
