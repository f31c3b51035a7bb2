/// A JSON value as read from, or written to, a JSON record.
///
/// Numbers keep their literal text, so no precision is lost between the input and a warehouse
/// column. Objects keep their members in document order.
package enum JSONValue: Hashable, Sendable {
  /// `null`.
  case null
  /// `true` or `false`.
  case bool(Bool)
  /// A number, as its JSON literal text (e.g. `-12.50e3`).
  case number(String)
  /// A string, its escapes decoded.
  case string(String)
  /// An array's elements in order.
  case array([JSONValue])
  /// An object's members in document order.
  case object([(key: String, value: JSONValue)])

  /// The kind of value, as messages name it: "null", "a boolean", "a number", "a string",
  /// "an array" or "an object".
  package var kindDescription: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }

  /// Whether two values are the same, objects member by member in order.
  package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null):
      return true
    case (.bool(let left), .bool(let right)):
      return left == right
    case (.number(let left), .number(let right)):
      return left == right
    case (.string(let left), .string(let right)):
      return left == right
    case (.array(let left), .array(let right)):
      return left == right
    case (.object(let left), .object(let right)):
      return left.count == right.count
        && zip(left, right).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    case (.null, _), (.bool, _), (.number, _), (.string, _), (.array, _), (.object, _):
      return false
    }
  }

  /// Hashes the value consistently with `==`.
  package func hash(into hasher: inout Hasher) {
    switch self {
    case .null:
      hasher.combine(0)
    case .bool(let value):
      hasher.combine(1)
      hasher.combine(value)
    case .number(let literal):
      hasher.combine(2)
      hasher.combine(literal)
    case .string(let value):
      hasher.combine(3)
      hasher.combine(value)
    case .array(let elements):
      hasher.combine(4)
      hasher.combine(elements)
    case .object(let members):
      hasher.combine(5)
      hasher.combine(members.count)
      for member in members {
        hasher.combine(member.key)
        hasher.combine(member.value)
      }
    }
  }
}
