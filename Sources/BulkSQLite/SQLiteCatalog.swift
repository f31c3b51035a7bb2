internal import BulkCore

/// Reads table descriptions from a SQLite file's schema.
enum SQLiteCatalog {
  /// The user table `table`, or `nil`. The server's own tables (`_spectra_…`) and SQLite's are
  /// not the tenant's.
  static func describe(table: String, _ connection: SQLiteConnection) throws -> TableDescription? {
    guard !table.hasPrefix("_spectra"), !table.lowercased().hasPrefix("sqlite_") else { return nil }
    let exists = try connection.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1")
      .bind([.text(table)])
    guard try exists.step() else { return nil }

    let info = try connection.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")
      .bind([.text(table)])
    var columns: [ColumnDescription] = []
    var primaryKey: [(position: Int64, name: String)] = []
    while try info.step() {
      let name = info.text(0)
      let declared = info.text(1)
      let position = info.int64(4)
      let isRowID = position == 1 && declared.uppercased() == "INTEGER"
      if position > 0 { primaryKey.append((position, name)) }
      columns.append(
        ColumnDescription(
          name: name,
          declaredType: declared,
          type: Self.columnType(declared),
          nullable: info.int64(2) == 0 && !isRowID,
          hasDefault: !info.isNull(3) || isRowID
        )
      )
    }
    let keys = primaryKey.sorted { $0.position < $1.position }.map(\.name)
    var unique: Set<String> = keys.count == 1 ? [keys[0]] : []
    let indexes = try connection.prepare("SELECT name FROM pragma_index_list(?1) WHERE \"unique\" = 1")
      .bind([.text(table)])
    var names: [String] = []
    while try indexes.step() {
      names.append(indexes.text(0))
    }
    for index in names {
      let columnsOfIndex = try connection.prepare("SELECT name FROM pragma_index_info(?1)").bind([.text(index)])
      var indexed: [String] = []
      while try columnsOfIndex.step() {
        indexed.append(columnsOfIndex.text(0))
      }
      if indexed.count == 1 { unique.insert(indexed[0]) }
    }
    return TableDescription(name: table, columns: columns, primaryKey: keys, uniqueColumns: unique)
  }

  /// The family of a declared type, after SQLite's affinity rules, refined for dates, booleans
  /// and JSON that applications declare by name.
  static func columnType(_ declared: String) -> ColumnType {
    let type = declared.uppercased()
    if type.contains("BOOL") { return .boolean }
    if type.contains("TIMESTAMP") || type.contains("DATETIME") { return .timestamp }
    if type.contains("DATE") { return .date }
    if type.contains("JSON") { return .json }
    if type.contains("INT") { return .integer }
    if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { return .text }
    if type.contains("BLOB") { return .bytes }
    if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") { return .double }
    if type.contains("NUMERIC") || type.contains("DECIMAL") { return .decimal }
    return .other
  }
}
