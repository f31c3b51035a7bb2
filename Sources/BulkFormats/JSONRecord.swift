package import NIOCore

/// One record of a JSON stream: a top-level object.
package struct JSONRecord: Sendable {
  /// The 1-based number of the record.
  package var number: Int64
  /// The stream offset of the record's `{`.
  package var offset: Int64
  /// The object's members in document order; keys are unique.
  package var fields: [(key: String, value: JSONValue)]
  /// The object's bytes as they were read, from `{` to `}`.
  package var raw: ByteBuffer

  /// A record.
  package init(number: Int64, offset: Int64, fields: [(key: String, value: JSONValue)], raw: ByteBuffer) {
    self.number = number
    self.offset = offset
    self.fields = fields
    self.raw = raw
  }

  /// The value of the member named `key`, or `nil`.
  package func value(forKey key: String) -> JSONValue? {
    self.fields.first { $0.key == key }?.value
  }
}
