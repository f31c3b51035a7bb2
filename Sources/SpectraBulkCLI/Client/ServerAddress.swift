internal import ArgumentParser

/// A gRPC server address given as `HOST:PORT` (`[::1]:PORT` for an IPv6 literal).
struct ServerAddress: Sendable {
  /// The host name or address literal.
  var host: String
  /// The TCP port.
  var port: Int

  /// Parses `text`.
  ///
  /// - Throws: `ValidationError` naming `--server` when it has no valid port.
  init(_ text: String) throws {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
      (1 ... 65535).contains(port)
    else {
      throw ValidationError("--server \(text) is not HOST:PORT")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw ValidationError("--server \(text) has no host") }
    self.host = host
    self.port = port
  }
}
