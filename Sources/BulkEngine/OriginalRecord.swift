internal import BulkCore
internal import BulkFormats

/// One uploaded record as it was read, kept to write it back in the results.
enum OriginalRecord: Sendable {
  /// A CSV record's fields, as strings.
  case csv([String])
  /// A JSON object's members in document order.
  case json([(key: String, value: JSONValue)])
  /// A record batch's typed values, in the batch's column order.
  case typed([FieldValue])
}

/// A record parsed from a chunk, ready to be checked and applied.
struct ParsedRecord: Sendable {
  /// The 1-based number of the record in the upload.
  var number: Int64
  var original: OriginalRecord
  /// The values in the job's column order, or why the record cannot be applied.
  var values: ParsedValues
  /// For a CSV record, where its bytes as uploaded (without the line end) lie in the chunk's
  /// bytes: CSV results repeat them as they are. `nil` for a record that could not be parsed.
  var raw: Range<Int>? = nil
}

/// A parsed record's values in the job's column order.
enum ParsedValues: Sendable {
  /// A CSV record's fields, shared with its `OriginalRecord`; an empty field is NULL.
  case fields([String])
  case values([FieldValue])
  /// Why the record cannot be applied.
  case failure(RecordFailure)
}
