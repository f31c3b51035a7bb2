internal import Crypto
package import Foundation

/// A create request as a client sent it, before validation. Both transports build one.
package struct JobSpec: Hashable, Sendable {
  package var operation: Operation?
  package var object: String
  package var contentType: ContentType?
  package var compression: Compression?
  package var query: String
  package var externalIDField: String
  package var columnDelimiter: String

  package init(
    operation: Operation?,
    object: String,
    contentType: ContentType? = nil,
    compression: Compression? = nil,
    query: String = "",
    externalIDField: String = "",
    columnDelimiter: String = ""
  ) {
    self.operation = operation
    self.object = object
    self.contentType = contentType
    self.compression = compression
    self.query = query
    self.externalIDField = externalIDField
    self.columnDelimiter = columnDelimiter
  }

  /// The delimiters Salesforce offers, by character and by name.
  private static let delimiters: [String: Character] = [
    ",": ",", "COMMA": ",",
    "\t": "\t", "TAB": "\t",
    "|": "|", "PIPE": "|",
    ";": ";", "SEMICOLON": ";",
    "^": "^", "CARET": "^",
    "`": "`", "BACKQUOTE": "`",
  ]

  /// The job this request describes, or `INVALID_ARGUMENT` naming the first field at fault.
  package func validated(id: String, tenantID: String, now: Date) throws(BulkError) -> Job {
    guard let operation = self.operation else {
      throw .invalidArgument("operation is required: one of query, insert, update, upsert, delete")
    }
    guard !self.object.isEmpty else {
      throw .invalidArgument("object is required: name the table the job works on")
    }
    guard Identifier.isValid(self.object) else {
      throw .invalidArgument(
        "object '\(self.object.prefix(80))' is not a table name: use letters, digits and _, at most \(Identifier.maxLength) characters"
      )
    }
    var query = self.query.trimmingCharacters(in: .whitespacesAndNewlines)
    if operation == .query {
      // A query job without a query exports its whole object, as the product document's first
      // example expects; the job shows the statement, so the client sees what will run.
      if query.isEmpty { query = Self.wholeObjectQuery(self.object) }
    } else if !query.isEmpty {
      throw .invalidArgument("query is only allowed on query jobs, not on \(operation.rawValue) jobs")
    }
    switch operation {
    case .upsert:
      guard !self.externalIDField.isEmpty else {
        throw .invalidArgument("external_id_field is required for upsert jobs")
      }
    case .query, .insert:
      guard self.externalIDField.isEmpty else {
        throw .invalidArgument("external_id_field applies to update, upsert and delete jobs only")
      }
    case .update, .delete:
      break
    }
    if !self.externalIDField.isEmpty && !Identifier.isValid(self.externalIDField) {
      throw .invalidArgument("external_id_field '\(self.externalIDField.prefix(80))' is not a column name")
    }
    let contentType = self.contentType ?? .csv
    let compression = self.compression ?? .none
    if compression == .gzip && operation == .query {
      throw .invalidArgument("compression describes uploaded data; query jobs take no upload")
    }
    if compression == .gzip && contentType == .recordBatch {
      throw .invalidArgument("compression applies to CSV and JSON uploads, not to RECORD_BATCH")
    }
    var delimiter: Character = ","
    if !self.columnDelimiter.isEmpty {
      guard let named = Self.delimiters[self.columnDelimiter.uppercased()] ?? Self.delimiters[self.columnDelimiter]
      else {
        throw .invalidArgument(
          "column_delimiter '\(self.columnDelimiter.prefix(20))' is not supported: use COMMA, TAB, PIPE, SEMICOLON, CARET or BACKQUOTE"
        )
      }
      guard contentType == .csv || named == "," else {
        throw .invalidArgument("column_delimiter applies to CSV jobs only")
      }
      delimiter = named
    }
    return Job(
      id: id,
      tenantID: tenantID,
      operation: operation,
      object: self.object,
      contentType: contentType,
      compression: compression,
      query: query,
      externalIDField: self.externalIDField,
      columnDelimiter: delimiter,
      createdAt: now
    )
  }

  /// The statement of a query job created without one: all of `object`'s rows, in no order.
  package static func wholeObjectQuery(_ object: String) -> String {
    "SELECT * FROM \(Identifier.quoted(object))"
  }

  /// A digest of the validated job's defining fields, to recognise a retried create.
  package static func fingerprint(of job: Job) -> String {
    let fields = [
      job.operation.rawValue, job.object, job.contentType.rawValue, job.compression.rawValue, job.query,
      job.externalIDField, String(job.columnDelimiter),
    ]
    // Length-prefixed so that no two field lists share an encoding.
    let canonical = fields.map { "\($0.utf8.count):\($0)" }.joined()
    return SHA256.hash(data: Data(canonical.utf8)).map { String(format: "%02x", $0) }.joined()
  }
}
