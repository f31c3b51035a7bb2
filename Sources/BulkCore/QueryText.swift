/// The lexical checks of a query job's SQL, made before it reaches a warehouse: one statement,
/// a reading statement, and no call of a function that could reach past the statement (change
/// session settings, run SQL given as text, act on other sessions).
///
/// The warehouses enforce read-only execution themselves (a read-only transaction, an
/// authorizer); these checks give a clear reason early and close what a read-only transaction
/// alone does not, such as `set_config`, which is allowed in one.
package struct QueryText: Sendable {
  /// How the SQL is tokenised: what quotes identifiers and whether comments nest.
  package enum Dialect: Sendable {
    /// `"…"` identifiers, `$tag$…$tag$` strings, `E'…'` escapes, nested block comments.
    case postgres
    /// `"…"`, `[…]` and `` `…` `` identifiers, flat block comments.
    case sqlite
  }

  /// The statement without surrounding white space and trailing semicolons.
  package let statement: String

  /// Checks `sql`; throws `BulkError.queryRefused` naming the first problem and its byte offset.
  package init(_ sql: String, dialect: Dialect, forbiddenFunctions: Set<String>) throws(BulkError) {
    let bytes = Array(sql.utf8)
    var lexer = Lexer(bytes: bytes, dialect: dialect)
    var tokens: [Token] = []
    var end = 0
    while let token = try lexer.next() {
      if token.kind == .semicolon {
        // Empty statements after the first are harmless; anything else is a second statement.
        var next = try lexer.next()
        while next?.kind == .semicolon { next = try lexer.next() }
        if let next {
          throw .queryRefused(
            "a query job runs a single statement, but a second one starts at byte \(next.start) after the ';' at byte \(token.start)"
          )
        }
        break
      }
      tokens.append(token)
      end = token.end
    }
    guard let first = tokens.first else {
      throw .queryRefused("the query is empty")
    }
    let keyword = first.word(in: bytes)
    guard first.kind == .open || ["select", "with", "values", "table"].contains(keyword) else {
      let shown = first.kind == .word ? keyword.uppercased() : String(decoding: bytes[first.start ..< first.end], as: UTF8.self)
      throw .queryRefused("a query job runs a SELECT statement, not \(shown.prefix(40)) (byte \(first.start))")
    }
    for (index, token) in tokens.enumerated() where index + 1 < tokens.count && tokens[index + 1].kind == .open {
      guard token.kind == .word || token.kind == .quotedWord else { continue }
      let name = token.kind == .word ? token.word(in: bytes) : token.unquoted(in: bytes)
      if forbiddenFunctions.contains(name) {
        throw .queryRefused(
          "the query calls \(name)() at byte \(token.start), which query jobs may not: it reaches beyond the statement"
        )
      }
    }
    let startOffset = tokens[0].start
    self.statement = String(decoding: bytes[startOffset ..< end], as: UTF8.self)
  }

  /// Functions of PostgreSQL and Redshift that change the session, run SQL given as text, keep
  /// session-level locks, act on other sessions or on the server's files.
  package static let postgresForbiddenFunctions: Set<String> = [
    "set_config", "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
    "cursor_to_xml", "cursor_to_xmlschema", "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
    "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema", "database_to_xml",
    "database_to_xmlschema", "database_to_xml_and_xmlschema", "dblink", "dblink_exec", "dblink_connect",
    "dblink_send_query", "pg_cancel_backend", "pg_terminate_backend", "pg_reload_conf", "pg_rotate_logfile",
    "lo_import", "lo_export", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_notify",
  ]

  /// Functions of SQLite that reach outside the database file, or into the server's memory:
  /// `fts3_tokenizer` discloses a C pointer and, with two arguments, installs one (the system
  /// library is built with `SQLITE_ENABLE_FTS3_TOKENIZER`).
  package static let sqliteForbiddenFunctions: Set<String> = [
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
  ]
}

/// A token of SQL: only what the checks need to tell apart.
private struct Token {
  enum Kind: Equatable {
    /// A keyword or unquoted identifier.
    case word
    case quotedWord
    case open
    case semicolon
    /// A string, number or operator.
    case other
  }

  var kind: Kind
  var start: Int
  var end: Int

  /// The word in lower case.
  func word(in bytes: [UInt8]) -> String {
    String(decoding: bytes[self.start ..< self.end], as: UTF8.self).lowercased()
  }

  /// A quoted identifier without its quotes (doubled quotes are not undone: a name with a quote
  /// is no function the checks look for).
  func unquoted(in bytes: [UInt8]) -> String {
    String(decoding: bytes[self.start + 1 ..< self.end - 1], as: UTF8.self)
  }
}

/// Splits SQL into tokens, skipping comments and white space; strings and quoted identifiers are
/// read whole, so nothing inside them counts.
private struct Lexer {
  let bytes: [UInt8]
  let dialect: QueryText.Dialect
  var index = 0

  init(bytes: [UInt8], dialect: QueryText.Dialect) {
    self.bytes = bytes
    self.dialect = dialect
  }

  mutating func next() throws(BulkError) -> Token? {
    try self.skipSpaceAndComments()
    guard self.index < self.bytes.count else { return nil }
    let start = self.index
    let byte = self.bytes[start]
    switch byte {
    case UInt8(ascii: ";"):
      self.index += 1
      return Token(kind: .semicolon, start: start, end: self.index)
    case UInt8(ascii: "("):
      self.index += 1
      return Token(kind: .open, start: start, end: self.index)
    case UInt8(ascii: "'"):
      try self.skipQuoted(closing: UInt8(ascii: "'"), backslashEscapes: self.isEscapeString(at: start), from: start)
      return Token(kind: .other, start: start, end: self.index)
    case UInt8(ascii: "\""):
      try self.skipQuoted(closing: UInt8(ascii: "\""), backslashEscapes: false, from: start)
      return Token(kind: .quotedWord, start: start, end: self.index)
    case UInt8(ascii: "`") where self.dialect == .sqlite:
      try self.skipQuoted(closing: UInt8(ascii: "`"), backslashEscapes: false, from: start)
      return Token(kind: .quotedWord, start: start, end: self.index)
    case UInt8(ascii: "[") where self.dialect == .sqlite:
      try self.skipQuoted(closing: UInt8(ascii: "]"), backslashEscapes: false, from: start)
      return Token(kind: .quotedWord, start: start, end: self.index)
    case UInt8(ascii: "$") where self.dialect == .postgres:
      if let tag = self.dollarTag(at: start) {
        try self.skipDollarQuoted(tag: tag, from: start)
        return Token(kind: .other, start: start, end: self.index)
      }
      self.index += 1
      return Token(kind: .other, start: start, end: self.index)
    default:
      if Self.isWordStart(byte) {
        while self.index < self.bytes.count && Self.isWordPart(self.bytes[self.index]) { self.index += 1 }
        // E'…' is one string with backslash escapes.
        if self.index < self.bytes.count && self.bytes[self.index] == UInt8(ascii: "'") {
          try self.skipQuoted(closing: UInt8(ascii: "'"), backslashEscapes: self.isEscapeString(at: self.index), from: self.index)
          return Token(kind: .other, start: start, end: self.index)
        }
        return Token(kind: .word, start: start, end: self.index)
      }
      self.index += 1
      return Token(kind: .other, start: start, end: self.index)
    }
  }

  private mutating func skipSpaceAndComments() throws(BulkError) {
    while self.index < self.bytes.count {
      let byte = self.bytes[self.index]
      if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
        || byte == 0x0C
      {
        self.index += 1
      } else if self.starts(with: "--") {
        while self.index < self.bytes.count && self.bytes[self.index] != UInt8(ascii: "\n") { self.index += 1 }
      } else if self.starts(with: "/*") {
        let start = self.index
        var depth = 0
        repeat {
          if self.starts(with: "/*") && (depth == 0 || self.dialect == .postgres) {
            depth += 1
            self.index += 2
          } else if self.starts(with: "*/") {
            depth -= 1
            self.index += 2
          } else if self.index < self.bytes.count {
            self.index += 1
          } else {
            throw .queryRefused("the comment that starts at byte \(start) is not closed")
          }
        } while depth > 0
      } else {
        return
      }
    }
  }

  /// Whether the string at `quote` is an `E'…'` string, whose backslashes escape.
  private func isEscapeString(at quote: Int) -> Bool {
    guard self.dialect == .postgres, quote > 0 else { return false }
    let before = self.bytes[quote - 1] | 0x20
    return before == UInt8(ascii: "e") && (quote == 1 || !Self.isWordPart(self.bytes[quote - 2]))
  }

  private mutating func skipQuoted(closing: UInt8, backslashEscapes: Bool, from start: Int) throws(BulkError) {
    self.index += 1
    while self.index < self.bytes.count {
      let byte = self.bytes[self.index]
      if backslashEscapes && byte == UInt8(ascii: "\\") {
        self.index += 2
        continue
      }
      self.index += 1
      if byte == closing {
        // A doubled closing quote is part of the text.
        guard self.index < self.bytes.count, self.bytes[self.index] == closing, closing != UInt8(ascii: "]") else {
          return
        }
        self.index += 1
      }
    }
    throw .queryRefused("the quoted text that starts at byte \(start) is not closed")
  }

  /// The `$tag$` at `start`, when there is one (a `$1` parameter is none).
  private func dollarTag(at start: Int) -> ArraySlice<UInt8>? {
    var end = start + 1
    while end < self.bytes.count && self.bytes[end] != UInt8(ascii: "$") {
      guard Self.isWordPart(self.bytes[end]), !(end == start + 1 && Self.isDigit(self.bytes[end])) else { return nil }
      end += 1
    }
    guard end < self.bytes.count else { return nil }
    return self.bytes[start ... end]
  }

  private mutating func skipDollarQuoted(tag: ArraySlice<UInt8>, from start: Int) throws(BulkError) {
    self.index = start + tag.count
    while self.index + tag.count <= self.bytes.count {
      if self.bytes[self.index ..< self.index + tag.count].elementsEqual(tag) {
        self.index += tag.count
        return
      }
      self.index += 1
    }
    throw .queryRefused("the dollar-quoted text that starts at byte \(start) is not closed")
  }

  private func starts(with text: StaticString) -> Bool {
    let count = text.utf8CodeUnitCount
    guard self.index + count <= self.bytes.count else { return false }
    return text.withUTF8Buffer { self.bytes[self.index ..< self.index + count].elementsEqual($0) }
  }

  private static func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  private static func isWordStart(_ byte: UInt8) -> Bool {
    (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") || byte == UInt8(ascii: "_") || byte >= 0x80
  }

  private static func isWordPart(_ byte: UInt8) -> Bool {
    Self.isWordStart(byte) || Self.isDigit(byte) || byte == UInt8(ascii: "$")
  }
}
