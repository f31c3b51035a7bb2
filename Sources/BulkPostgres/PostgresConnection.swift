internal import CLibPQ
internal import Foundation

/// One open libpq connection to PostgreSQL or Redshift.
///
/// This type alone owns the `PGconn` handle and finishes it in `deinit`; the `PGresult`s it gets
/// are read and cleared inside its methods and never leave them. libpq connections are not
/// thread safe and every call blocks: a connection is used by one thread at a time, the serial
/// queue of its `PostgresConnectionPool` slot, which is why it is `@unchecked Sendable`.
package final class PostgresConnection: @unchecked Sendable {
  private let handle: OpaquePointer

  /// Connects to `url` (a `postgresql://` URL or a libpq key/value string), waiting at most
  /// `connectTimeout` seconds, with UTF-8 as the client encoding.
  package convenience init(url: String, connectTimeout: Int = 10) throws {
    try self.init(login: PostgresLogin(url: url), connectTimeout: connectTimeout)
  }

  /// Connects as `login` says, waiting at most `connectTimeout` seconds, with UTF-8 as the
  /// client encoding.
  package init(login: PostgresLogin, connectTimeout: Int = 10) throws {
    // Keywords after `dbname` override what its URL says; those before are defaults it may change.
    var keywords = ["connect_timeout", "application_name", "dbname", "client_encoding"]
    var values = [String(connectTimeout), "spectra-bulk", login.url, "UTF8"]
    if let user = login.user {
      keywords.append("user")
      values.append(user)
    }
    if let password = login.password {
      keywords.append("password")
      values.append(password)
    }
    let handle = Self.withCStrings(keywords) { keywordPointers in
      Self.withCStrings(values) { valuePointers in
        PQconnectdbParams(keywordPointers + [nil], valuePointers + [nil], 1)
      }
    }
    guard let handle else {
      throw PostgresError(message: "libpq could not allocate a connection", isConnectionFailure: true)
    }
    guard PQstatus(handle) == CONNECTION_OK else {
      let message = Self.trimmed(PQerrorMessage(handle))
      PQfinish(handle)
      throw PostgresError(message: message, isConnectionFailure: true)
    }
    self.handle = handle
    // Notices ("relation already exists, skipping") are not errors; libpq would print them to
    // the process's standard error.
    PQsetNoticeReceiver(handle, { _, _ in }, nil)
  }

  deinit {
    PQfinish(self.handle)
  }

  /// Whether the connection is up, as far as can be told without a round trip: it reads what the
  /// server sent while the connection was idle, so a connection that the server ended (a restart,
  /// an administrator's command) shows as down here rather than failing the next statement.
  package var isHealthy: Bool {
    guard PQstatus(self.handle) == CONNECTION_OK else { return false }
    guard PQconsumeInput(self.handle) == 1 else { return false }
    return PQstatus(self.handle) == CONNECTION_OK
  }

  /// Whether a transaction is open (possibly failed), so that the connection needs a `ROLLBACK`
  /// before anyone else may use it.
  package var isInTransaction: Bool {
    let status = PQtransactionStatus(self.handle)
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
  }

  /// Closes the connection and opens it again with the same parameters.
  package func reset() throws {
    PQreset(self.handle)
    guard PQstatus(self.handle) == CONNECTION_OK else {
      throw PostgresError(message: Self.trimmed(PQerrorMessage(self.handle)), isConnectionFailure: true)
    }
  }

  /// Runs one statement that returns no rows; `$1`, `$2`, … take `parameters` in text format
  /// (`nil` is SQL `NULL`). Values always travel as parameters, never inside `sql`.
  ///
  /// - Returns: the number of rows the statement affected, 0 when it reports none.
  @discardableResult
  package func execute(_ sql: String, _ parameters: [String?] = []) throws -> Int {
    try self.run(sql, parameters) { result in
      Int(String(cString: PQcmdTuples(result))) ?? 0
    }
  }

  /// Runs one statement and returns its rows, each value in text format (`nil` for `NULL`).
  package func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
    try self.run(sql, parameters) { result in
      let rowCount = PQntuples(result)
      let columnCount = PQnfields(result)
      var rows: [[String?]] = []
      rows.reserveCapacity(Int(rowCount))
      for row in 0 ..< rowCount {
        var values: [String?] = []
        values.reserveCapacity(Int(columnCount))
        for column in 0 ..< columnCount {
          values.append(
            PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
          )
        }
        rows.append(values)
      }
      return rows
    }
  }

  /// Runs `sql`, a `COPY … FROM STDIN`, and streams `data` (COPY text format) to it.
  /// - Returns: the number of rows the server read.
  @discardableResult
  package func copy(_ sql: String, from data: ArraySlice<UInt8>) throws -> Int {
    try Self.checkNoNUL(sql)
    guard let start = PQexecParams(self.handle, sql, 0, nil, nil, nil, nil, 0) else {
      throw self.error(from: nil)
    }
    guard PQresultStatus(start) == PGRES_COPY_IN else {
      defer { PQclear(start) }
      throw self.error(from: start)
    }
    PQclear(start)

    // libpq takes the bytes in pieces of at most Int32.max; 1 MiB keeps each call short.
    let pieceSize = 1 << 20
    let sent = data.withUnsafeBytes { bytes -> Bool in
      var offset = 0
      while offset < bytes.count {
        let count = min(pieceSize, bytes.count - offset)
        let piece = bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
        guard PQputCopyData(self.handle, piece, Int32(count)) == 1 else { return false }
        offset += count
      }
      return true
    }
    // A failed send ends the COPY with an error of our own, so that the server discards it.
    let ended = PQputCopyEnd(self.handle, sent ? nil : "the client could not send the data")
    var failure: PostgresError?
    var rows = 0
    while let result = PQgetResult(self.handle) {
      if failure == nil, PQresultStatus(result) != PGRES_COMMAND_OK {
        failure = self.error(from: result)
      } else if let tuples = PQcmdTuples(result) {
        rows = Int(String(cString: tuples)) ?? 0
      }
      PQclear(result)
    }
    if let failure { throw failure }
    guard sent, ended == 1 else { throw self.error(from: nil) }
    return rows
  }

  /// The result columns of `sql`, one statement, as the server describes it without running it:
  /// names and type OIDs. The server refuses more than one statement here.
  package func describe(_ sql: String) throws -> [(name: String, typeOID: UInt32)] {
    try Self.checkNoNUL(sql)
    guard let prepared = PQprepare(self.handle, "", sql, 0, nil) else { throw self.error(from: nil) }
    defer { PQclear(prepared) }
    guard PQresultStatus(prepared) == PGRES_COMMAND_OK else { throw self.error(from: prepared) }
    guard let described = PQdescribePrepared(self.handle, "") else { throw self.error(from: nil) }
    defer { PQclear(described) }
    guard PQresultStatus(described) == PGRES_COMMAND_OK else { throw self.error(from: described) }
    return (0 ..< PQnfields(described)).map { column in
      (String(cString: PQfname(described, column)), UInt32(PQftype(described, column)))
    }
  }

  /// Runs `sql`, a `COPY … TO STDOUT`, and hands each row the server sends, as sent (one row per
  /// call, with its line end), to `row`. When `row` throws, the COPY is cancelled and the
  /// connection drained before the error is rethrown.
  package func copyOut(_ sql: String, row: (UnsafeRawBufferPointer) throws -> Void) throws {
    try Self.checkNoNUL(sql)
    guard let start = PQexecParams(self.handle, sql, 0, nil, nil, nil, nil, 0) else {
      throw self.error(from: nil)
    }
    guard PQresultStatus(start) == PGRES_COPY_OUT else {
      defer { PQclear(start) }
      throw self.error(from: start)
    }
    PQclear(start)

    var failure: (any Error)?
    while true {
      var buffer: UnsafeMutablePointer<CChar>?
      let count = PQgetCopyData(self.handle, &buffer, 0)
      guard count > 0, let buffer else { break }
      defer { PQfreemem(buffer) }
      guard failure == nil else { continue }
      do {
        try row(UnsafeRawBufferPointer(start: buffer, count: Int(count)))
      } catch {
        failure = error
        self.makeCanceller()?.cancel()
      }
    }
    var serverFailure: PostgresError?
    while let result = PQgetResult(self.handle) {
      if serverFailure == nil, PQresultStatus(result) != PGRES_COMMAND_OK {
        serverFailure = self.error(from: result)
      }
      PQclear(result)
    }
    if let failure { throw failure }
    if let serverFailure { throw serverFailure }
  }

  /// The SCRAM-SHA-256 verifier of `password` for `role`, computed here by libpq, so that
  /// `CREATE ROLE … PASSWORD` sends the server (and its statement log) no plain password.
  package func encryptedPassword(_ password: String, role: String) throws -> String {
    guard let encrypted = PQencryptPasswordConn(self.handle, password, role, "scram-sha-256") else {
      throw PostgresError(message: "libpq could not encrypt a password: \(Self.trimmed(PQerrorMessage(self.handle)))")
    }
    defer { PQfreemem(encrypted) }
    return String(cString: encrypted)
  }

  /// Waits up to `timeout` for the server to send something, then returns the payloads of the
  /// notifications (`NOTIFY`) it sent on the channels this connection `LISTEN`s to, oldest
  /// first; empty when none came in time.
  ///
  /// - Throws: `PostgresError` (a connection failure) when the connection is lost.
  package func notifications(waitingUpTo timeout: Duration) throws -> [String] {
    var payloads = self.pendingNotifications()
    guard payloads.isEmpty else { return payloads }
    let socket = PQsocket(self.handle)
    guard socket >= 0 else { throw self.error(from: nil) }
    var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
    let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    let ready = poll(&descriptor, 1, milliseconds)
    guard ready >= 0 || errno == EINTR else {
      throw PostgresError(message: "poll on the connection failed: \(String(cString: strerror(errno)))", isConnectionFailure: true)
    }
    guard ready > 0 else { return [] }
    guard PQconsumeInput(self.handle) == 1, PQstatus(self.handle) == CONNECTION_OK else {
      throw PostgresError(message: Self.trimmed(PQerrorMessage(self.handle)), isConnectionFailure: true)
    }
    payloads = self.pendingNotifications()
    return payloads
  }

  /// The notifications libpq has already read.
  private func pendingNotifications() -> [String] {
    var payloads: [String] = []
    while let notification = PQnotifies(self.handle) {
      payloads.append(String(cString: notification.pointee.extra))
      PQfreemem(notification)
    }
    return payloads
  }

  /// A handle that cancels the statement this connection is running, from any thread.
  package func makeCanceller() -> PostgresCanceller? {
    PQgetCancel(self.handle).map(PostgresCanceller.init(handle:))
  }

  /// Runs one statement and hands its successful result to `read`.
  private func run<T>(_ sql: String, _ parameters: [String?], read: (OpaquePointer) -> T) throws -> T {
    try Self.checkNoNUL(sql)
    for parameter in parameters {
      if let parameter { try Self.checkNoNUL(parameter) }
    }
    let result = Self.withCStrings(parameters) { pointers in
      PQexecParams(self.handle, sql, Int32(pointers.count), nil, pointers, nil, nil, 0)
    }
    guard let result else { throw self.error(from: nil) }
    defer { PQclear(result) }
    switch PQresultStatus(result) {
    case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
      return read(result)
    case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
      // A COPY sent to the wrong method: end it so the connection stays usable.
      PQputCopyEnd(self.handle, "COPY is not expected here")
      while let pending = PQgetResult(self.handle) { PQclear(pending) }
      throw PostgresError(message: "a COPY statement was run as a plain statement")
    default:
      throw self.error(from: result)
    }
  }

  /// The error a failed result (or, for `nil`, the connection) reports.
  private func error(from result: OpaquePointer?) -> PostgresError {
    let connectionBad = PQstatus(self.handle) != CONNECTION_OK
    guard let result else {
      return PostgresError(message: Self.trimmed(PQerrorMessage(self.handle)), isConnectionFailure: connectionBad)
    }
    // The PG_DIAG_* field codes are character macros, which Swift does not import.
    func field(_ code: Unicode.Scalar) -> String? {
      PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
    }
    let message = field("M") ?? Self.trimmed(PQresultErrorMessage(result))
    return PostgresError(
      sqlState: field("C"),
      message: message.isEmpty ? Self.trimmed(PQerrorMessage(self.handle)) : message,
      detail: field("D"),
      isConnectionFailure: connectionBad
    )
  }

  /// libpq reads text up to the first NUL: a NUL inside would silently cut a value short.
  private static func checkNoNUL(_ text: String) throws {
    if text.utf8.contains(0) {
      throw PostgresError(sqlState: "22021", message: "a statement or value contains a NUL character")
    }
  }

  private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
    message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown libpq error"
  }

  /// Calls `body` with C strings for `strings` (`nil` stays `nil`), all kept in one buffer that
  /// lives for the call.
  private static func withCStrings<T>(
    _ strings: [String?],
    _ body: ([UnsafePointer<CChar>?]) throws -> T
  ) rethrows -> T {
    var storage: [CChar] = []
    var offsets: [Int?] = []
    offsets.reserveCapacity(strings.count)
    for string in strings {
      if let string {
        offsets.append(storage.count)
        storage.append(contentsOf: string.utf8CString)
      } else {
        offsets.append(nil)
      }
    }
    return try storage.withUnsafeBufferPointer { buffer in
      try body(offsets.map { offset in offset.map { buffer.baseAddress! + $0 } })
    }
  }
}
