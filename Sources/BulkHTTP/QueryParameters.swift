internal import BulkCore
internal import Hummingbird

/// The query parameters of a request, checked against the names a route takes.
///
/// An unknown name is refused, so `?maxRecords=10` or `?status=Open` is reported instead of
/// being silently ignored.
struct QueryParameters {
  private var values: [String: String] = [:]

  init(_ request: Request, accepted: [String]) throws(BulkError) {
    for (key, value) in request.uri.queryParameters {
      let name = String(key)
      guard accepted.contains(name) else {
        throw .invalidArgument(
          "unknown query parameter '\(name.prefix(64))': this route takes \(accepted.joined(separator: ", "))"
        )
      }
      guard self.values[name] == nil else { throw .invalidArgument("query parameter \(name) is given twice") }
      self.values[name] = String(value)
    }
  }

  /// The value of `name`, `nil` when it is absent.
  func string(_ name: String) -> String? {
    self.values[name]
  }

  /// The whole number in `name`, `nil` when it is absent or empty.
  func integer(_ name: String) throws(BulkError) -> Int64? {
    guard let value = self.values[name], !value.isEmpty else { return nil }
    guard let number = Int64(value) else {
      throw .invalidArgument("\(name) must be a whole number, not '\(value.prefix(40))'")
    }
    return number
  }
}
