internal import Foundation

extension Date {
  /// The timestamp as the REST surface writes it: ISO 8601 in UTC with milliseconds,
  /// e.g. `2024-05-01T12:34:56.789Z`.
  var restTimestamp: String {
    self.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
  }
}
