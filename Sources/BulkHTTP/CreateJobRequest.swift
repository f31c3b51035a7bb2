internal import BulkCore
internal import Foundation

/// The body of `POST /v1/bulk/jobs`, mapped to the `JobSpec` that `JobService` validates.
///
/// Only the JSON is checked here (types, unknown fields, enum spellings); every rule about
/// which fields a job needs stays in `JobSpec.validated`.
struct CreateJobRequest {
  var spec: JobSpec
  var requestID: String

  static let fields = [
    "operation", "object", "content_type", "compression", "query", "external_id_field", "column_delimiter",
    "request_id",
  ]

  init(json data: Data) throws(BulkError) {
    let body = try JSONObjectBody(data, accepted: Self.fields)
    self.spec = JobSpec(
      operation: try Self.operation(body.string("operation")),
      object: try body.string("object") ?? "",
      contentType: try Self.contentType(body.string("content_type")),
      compression: try Self.compression(body.string("compression")),
      query: try body.string("query") ?? "",
      externalIDField: try body.string("external_id_field") ?? "",
      columnDelimiter: try body.string("column_delimiter") ?? ""
    )
    self.requestID = try body.string("request_id") ?? ""
  }

  /// `query`, `insert`, … in any case; an empty value is left for `JobSpec` to call missing.
  private static func operation(_ value: String?) throws(BulkError) -> BulkCore.Operation? {
    guard let value, !value.isEmpty else { return nil }
    guard let operation = BulkCore.Operation(rawValue: value.lowercased()) else {
      let names = BulkCore.Operation.allCases.map(\.rawValue).joined(separator: ", ")
      throw .invalidArgument("operation '\(value.prefix(40))' is not one of \(names)")
    }
    return operation
  }

  /// `CSV` or `JSON`; `RECORD_BATCH` is typed rows, which only gRPC carries.
  private static func contentType(_ value: String?) throws(BulkError) -> ContentType? {
    guard let value, !value.isEmpty else { return nil }
    switch ContentType(rawValue: value.uppercased()) {
    case .csv: return .csv
    case .json: return .json
    case .recordBatch:
      throw .invalidArgument("content_type RECORD_BATCH uploads typed records over gRPC; REST takes CSV or JSON")
    case .none:
      throw .invalidArgument("content_type '\(value.prefix(40))' is not one of CSV, JSON")
    }
  }

  /// `NONE` or `GZIP`.
  private static func compression(_ value: String?) throws(BulkError) -> Compression? {
    guard let value, !value.isEmpty else { return nil }
    guard let compression = Compression(rawValue: value.uppercased()) else {
      throw .invalidArgument("compression '\(value.prefix(40))' is not one of NONE, GZIP")
    }
    return compression
  }
}
