internal import BulkCore
internal import CSQLite

/// A bound on the SQLite memory that one thread's statements may hold, for query jobs: the
/// allocator in the `CSQLite` shim fails an allocation past it, and the statement with
/// `SQLITE_NOMEM`.
///
/// Every call into that part of the shim stays in this file: each object file that calls it
/// has its own copy of the shim's state.
enum SQLiteMemoryBudget {
  /// Whether SQLite allocates through the budgeted allocator. `SQLiteConnection` reads it
  /// before it opens a database, so it is installed before SQLite starts.
  static let isInstalled = spectra_sqlite_install_budgets() == SQLITE_OK

  /// Runs `body` with the calling thread's SQLite allocations bounded to `bytes` more.
  static func run<T>(bytes: Int64, _ body: () throws -> T) throws -> T {
    guard Self.isInstalled else {
      throw BulkError(code: .internal, message: "SQLite started before its memory bound was set; queries are off")
    }
    spectra_sqlite_set_budget(bytes)
    defer { spectra_sqlite_set_budget(-1) }
    return try body()
  }
}
