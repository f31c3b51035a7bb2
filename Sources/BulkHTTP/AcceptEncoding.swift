/// What an `Accept-Encoding` header allows of the one coding the surface offers, gzip.
enum AcceptEncoding {
  /// Whether the response may be gzip-compressed: `gzip` (or `x-gzip`, or `*` when gzip is not
  /// named) is listed with a non-zero quality.
  static func allowsGzip(_ header: String?) -> Bool {
    guard let header else { return false }
    var wildcard = false
    for item in header.split(separator: ",") {
      let parts = item.split(separator: ";").map { $0.filter { $0 != " " && $0 != "\t" }.lowercased() }
      guard let coding = parts.first else { continue }
      let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
      switch coding {
      case "gzip", "x-gzip": return quality > 0
      case "*": wildcard = quality > 0
      default: continue
      }
    }
    return wildcard
  }
}
