internal import BulkCore
internal import CSQLite

/// What a query job's statement may do on SQLite: read the tenant's own file (its tables, views
/// and schema) and call functions other than those that reach outside it. No write, schema
/// change, `ATTACH` (nor `VACUUM INTO`, which attaches its target), `PRAGMA` or a table-valued
/// pragma function, transaction control, `load_extension` or `fts3_tokenizer`. It also
/// interrupts the statement at its deadline or when the job is cancelled.
///
/// SQLite calls it on the connection's thread only; `refusal` is read there after a prepare.
final class SQLiteSandbox {
  private let deadline: ContinuousClock.Instant
  private let cancellation: QueryCancellation
  /// Why the authorizer last said no, for the job's error message.
  private(set) var refusal: String?
  /// Why the progress handler interrupted the statement.
  private(set) var interruption: QueryCancellation.Reason?

  init(timeout: Duration, cancellation: QueryCancellation) {
    self.deadline = .now + timeout
    self.cancellation = cancellation
  }

  func authorize(action: Int32, first: String?, second: String?, database: String?) -> Bool {
    switch action {
    case SQLITE_SELECT, SQLITE_RECURSIVE:
      return true
    case SQLITE_READ:
      // A common table expression or subquery has no database.
      guard database == "main" || database == nil else {
        self.refusal = "the query may read only the tenant's own tables, not \(database ?? "?").\(first ?? "?")"
        return false
      }
      return true
    case SQLITE_FUNCTION:
      let name = (second ?? "").lowercased()
      guard !QueryText.sqliteForbiddenFunctions.contains(name) else {
        self.refusal = "the query calls \(name)(), which query jobs may not"
        return false
      }
      return true
    case SQLITE_UPDATE where first == "sqlite_master":
      // SQLite records a table-valued function in the schema the first time a connection uses
      // it; `SQLiteQuery` does that for json_each and json_tree before the sandbox is in place.
      // A pragma function that got past this would still meet SQLITE_PRAGMA below.
      self.refusal =
        "the query uses a table-valued function other than json_each and json_tree (a pragma_… function, dbstat, …), which query jobs may not"
      return false
    default:
      self.refusal = "the query may only read, but it asks to \(Self.describe(action: action, first: first))"
      return false
    }
  }

  func shouldInterrupt() -> Bool {
    if let reason = self.cancellation.reason {
      self.interruption = reason
    } else if ContinuousClock.now >= self.deadline {
      self.interruption = .deadline
    }
    return self.interruption != nil
  }

  private static func describe(action: Int32, first: String?) -> String {
    let object = first.map { " \($0)" } ?? ""
    switch action {
    case SQLITE_INSERT: return "insert into\(object)"
    case SQLITE_UPDATE: return "update\(object)"
    case SQLITE_DELETE: return "delete from\(object)"
    case SQLITE_ATTACH, SQLITE_DETACH: return "attach or detach a database"
    case SQLITE_PRAGMA: return "run PRAGMA\(object) (or read its function pragma_\(first ?? ""))"
    case SQLITE_TRANSACTION, SQLITE_SAVEPOINT: return "control a transaction"
    case SQLITE_CREATE_TABLE, SQLITE_CREATE_INDEX, SQLITE_CREATE_VIEW, SQLITE_CREATE_TRIGGER, SQLITE_CREATE_TEMP_TABLE,
      SQLITE_CREATE_TEMP_INDEX, SQLITE_CREATE_TEMP_VIEW, SQLITE_CREATE_TEMP_TRIGGER, SQLITE_CREATE_VTABLE:
      return "create\(object)"
    case SQLITE_DROP_TABLE, SQLITE_DROP_INDEX, SQLITE_DROP_VIEW, SQLITE_DROP_TRIGGER, SQLITE_DROP_TEMP_TABLE,
      SQLITE_DROP_TEMP_INDEX, SQLITE_DROP_TEMP_VIEW, SQLITE_DROP_TEMP_TRIGGER, SQLITE_DROP_VTABLE:
      return "drop\(object)"
    case SQLITE_ALTER_TABLE: return "alter a table"
    case SQLITE_ANALYZE, SQLITE_REINDEX: return "maintain the database"
    default: return "run an operation of kind \(action)"
    }
  }
}
