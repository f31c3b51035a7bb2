internal import BulkCore
internal import Foundation

/// The top-level fields of a JSON object request body, checked against the names a route takes.
///
/// A field the route does not know is refused rather than ignored, so a misspelt
/// `extrenal_id_field` is reported instead of silently creating a different job.
struct JSONObjectBody {
  private let fields: [String: Field]

  /// The JSON type of a field; only strings are read, the rest is named in errors.
  private enum Field: Decodable {
    case string(String)
    case null
    case other(String)

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if container.decodeNil() {
        self = .null
      } else if let string = try? container.decode(String.self) {
        self = .string(string)
      } else if (try? container.decode(Bool.self)) != nil {
        self = .other("a boolean")
      } else if (try? container.decode(Double.self)) != nil {
        self = .other("a number")
      } else {
        self = .other("an array or object")
      }
    }
  }

  /// Parses `data`, which must be one JSON object whose fields are all in `accepted`.
  init(_ data: Data, accepted: [String]) throws(BulkError) {
    guard !data.isEmpty else {
      throw .invalidArgument("the request body is empty: send a JSON object")
    }
    let fields: [String: Field]
    do {
      fields = try JSONDecoder().decode([String: Field].self, from: data)
    } catch DecodingError.typeMismatch {
      throw .invalidArgument("the request body must be a JSON object")
    } catch {
      throw .invalidArgument("the request body is not valid JSON")
    }
    for name in fields.keys.sorted() where !accepted.contains(name) {
      throw .invalidArgument(
        "unknown field '\(name.prefix(64))': this request takes \(accepted.joined(separator: ", "))"
      )
    }
    self.fields = fields
  }

  /// The string value of `name`; `nil` when it is absent or `null`.
  func string(_ name: String) throws(BulkError) -> String? {
    switch self.fields[name] {
    case .none, .null: nil
    case .string(let value): value
    case .other(let kind): throw .invalidArgument("\(name) must be a string, not \(kind)")
    }
  }
}
