package import BulkCore
internal import BulkEngine

extension ServerConfiguration {
  /// Sets how long a job may stay unfinished and how long a terminal job is kept, and enforces
  /// both often enough for short values: every tenth of the shorter one, at most every minute
  /// and at least every 100 ms.
  package mutating func setLifetimes(jobLifetime: Duration, retention: Duration) {
    self.engine.maxJobAge = jobLifetime
    self.engine.retention = retention
    let tenth = min(jobLifetime, retention) / 10
    self.engine.reapInterval = max(.milliseconds(100), min(.seconds(60), tenth))
  }

  /// A duration as operators write it: whole seconds (`90`), or a whole number with one unit,
  /// `s`, `m`, `h` or `d` (`90s`, `15m`, `24h`, `7d`).
  ///
  /// - Parameter setting: the flag's name, for the message.
  /// - Throws: `INVALID_ARGUMENT` naming `setting` for anything else, zero or a negative value.
  package static func duration(_ text: String, setting: String) throws(BulkError) -> Duration {
    let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    var digits = Substring(text)
    var unit: Int64 = 1
    if let last = digits.last, let seconds = units[last] {
      unit = seconds
      digits = digits.dropLast()
    }
    guard digits.allSatisfy(\.isASCII), let value = Int64(digits), value > 0 else {
      throw .invalidArgument(
        "\(setting) '\(text.prefix(40))' is not a duration: give seconds (86400) or a whole number with s, m, h or d (24h, 7d)"
      )
    }
    let (seconds, overflow) = value.multipliedReportingOverflow(by: unit)
    guard !overflow, seconds <= 100 * 365 * 86400 else {
      throw .invalidArgument("\(setting) '\(text.prefix(40))' is longer than 100 years")
    }
    return .seconds(seconds)
  }

  /// A whole number of seconds as `duration(_:setting:)` reads it, in its largest whole unit
  /// (`7d`, `90m`, `45s`), except that one day is `24h`, as operators write it.
  package static func durationText(_ duration: Duration) -> String {
    let seconds = duration.components.seconds
    guard seconds != 86400 else { return "24h" }
    let units: [(String, Int64)] = [("d", 86400), ("h", 3600), ("m", 60)]
    for (unit, length) in units where seconds > 0 && seconds % length == 0 {
      return "\(seconds / length)\(unit)"
    }
    return "\(seconds)s"
  }
}
