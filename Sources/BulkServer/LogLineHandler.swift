internal import Foundation
package import Logging
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// How `spectra-bulk serve` writes its log lines.
package enum LogFormat: String, CaseIterable, Sendable {
  /// `TIME LEVEL LABEL: key=value … message`, for a person at a terminal.
  case text
  /// One JSON object a line (`time`, `level`, `label`, `message`, then the metadata), for log
  /// shippers.
  case json

  /// Text when standard error is a terminal, JSON otherwise (a container, a service manager or a
  /// file, where lines are read by a program).
  package static var standardErrorDefault: LogFormat {
    isatty(STDERR_FILENO) == 1 ? .text : .json
  }
}

/// The server's swift-log handler: one line per event in `LogFormat`, secrets taken out first.
///
/// Metadata whose key names a secret (`authorization`, `password`, `token`, `signature`,
/// `secret`) is written as `[redacted]`, and so are bearer tokens, `signature=`/`password=` query
/// values and the password of a `scheme://user:password@host` URL wherever they appear in a
/// message or a value: a secret that reaches a log call by mistake still never reaches a line.
package struct LogLineHandler: LogHandler {
  package var logLevel: Logger.Level
  package var metadata: Logger.Metadata = [:]
  package var metadataProvider: Logger.MetadataProvider?
  private let label: String
  private let format: LogFormat
  private let sink: LogSink

  /// A handler writing `format` lines to `sink` (standard error by default).
  package init(
    label: String,
    format: LogFormat,
    level: Logger.Level,
    metadataProvider: Logger.MetadataProvider? = nil,
    sink: LogSink = .standardError
  ) {
    self.label = label
    self.format = format
    self.logLevel = level
    self.metadataProvider = metadataProvider
    self.sink = sink
  }

  package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { self.metadata[key] }
    set { self.metadata[key] = newValue }
  }

  package func log(event: LogEvent) {
    var merged = self.metadata
    if let provided = self.metadataProvider?.get() {
      merged.merge(provided) { _, new in new }
    }
    if let extra = event.metadata {
      merged.merge(extra) { _, new in new }
    }
    if let error = event.error {
      merged["error"] = "\(error)"
    }
    let fields = merged.keys.sorted().map { key in
      (key, Self.isSecretKey(key) ? "[redacted]" : LogRedaction.scrub(Self.flatten(merged[key]!)))
    }
    let message = LogRedaction.scrub("\(event.message)")
    let time = Self.timestamp()
    let line: String
    switch self.format {
    case .text:
      let pairs = fields.map { " \($0.0)=\($0.1)" }.joined()
      line = "\(time) \(event.level) \(self.label):\(pairs) \(message)\n"
    case .json:
      var object = "{\"time\":\(Self.quoted(time)),\"level\":\(Self.quoted(event.level.rawValue))"
      object += ",\"label\":\(Self.quoted(self.label)),\"message\":\(Self.quoted(message))"
      for (key, value) in fields where !["time", "level", "label", "message"].contains(key) {
        object += ",\(Self.quoted(key)):\(Self.quoted(value))"
      }
      line = object + "}\n"
    }
    self.sink.write(line)
  }

  private static func isSecretKey(_ key: String) -> Bool {
    let lowered = key.lowercased()
    return ["authorization", "password", "token", "signature", "secret"].contains { lowered.contains($0) }
  }

  private static func flatten(_ value: Logger.Metadata.Value) -> String {
    switch value {
    case .string(let string): string
    case .stringConvertible(let convertible): convertible.description
    case .array(let values): "[" + values.map(Self.flatten).joined(separator: ", ") + "]"
    case .dictionary(let dictionary):
      "{" + dictionary.keys.sorted().map { "\($0): \(Self.flatten(dictionary[$0]!))" }.joined(separator: ", ") + "}"
    }
  }

  /// ISO 8601 in UTC with milliseconds, e.g. `2026-12-04T07:27:29.628Z`.
  private static func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
      parts.tm_year + 1900,
      parts.tm_mon + 1,
      parts.tm_mday,
      parts.tm_hour,
      parts.tm_min,
      parts.tm_sec,
      Int(now.tv_nsec / 1_000_000)
    )
  }

  /// `value` as a JSON string literal.
  private static func quoted(_ value: String) -> String {
    var result = "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}

/// Where log lines go: whole lines, one writer at a time, so lines of concurrent tasks never
/// interleave.
package final class LogSink: Sendable {
  private let lock = Mutex(())
  private let writeLine: @Sendable (String) -> Void

  /// A sink that hands each line to `writeLine`.
  package init(_ writeLine: @escaping @Sendable (String) -> Void) {
    self.writeLine = writeLine
  }

  /// Standard error, unbuffered.
  package static let standardError = LogSink { line in
    FileHandle.standardError.write(Data(line.utf8))
  }

  /// Writes one line.
  package func write(_ line: String) {
    self.lock.withLock { _ in self.writeLine(line) }
  }
}

/// Takes secrets out of free text.
package enum LogRedaction {
  /// `text` with bearer tokens, `signature=`/`password=`/`token=` query values and URL passwords
  /// replaced by `[redacted]`.
  package static func scrub(_ text: String) -> String {
    let lowered = text.lowercased()
    guard
      lowered.contains("bearer") || lowered.contains("signature=") || lowered.contains("password=")
        || lowered.contains("token=") || lowered.contains("://")
    else { return text }
    var result = text
    result.replace(#/(?i)(bearer\s+)[^\s"',;]+/#) { "\($0.output.1)[redacted]" }
    result.replace(#/(?i)((?:signature|password|token)=)[^&\s"',;]+/#) { "\($0.output.1)[redacted]" }
    result.replace(#/(://[^/:@\s"']+:)[^@\s"'/]+@/#) { "\($0.output.1)[redacted]@" }
    return result
  }
}
