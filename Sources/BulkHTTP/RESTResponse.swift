internal import Foundation
internal import Hummingbird

/// Builds the surface's JSON responses, encoded the same way everywhere.
enum RESTResponse {
  /// A JSON body with `status`.
  static func json(
    _ value: some Encodable,
    status: HTTPResponse.Status = .ok,
    headers: HTTPFields = [:]
  ) throws -> Response {
    let encoder = JSONEncoder()
    // URLs stay readable for curl users; sorted keys make the output the same every time.
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var fields = headers
    fields[.contentType] = "application/json"
    let data = try encoder.encode(value)
    return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }

  /// The body of an error response.
  static func error(_ error: RESTError) -> Response {
    let body = ErrorBody(error: .init(code: error.code, message: error.message))
    do {
      return try Self.json(body, status: error.status)
    } catch {
      // Two strings always encode; this keeps the status even if that ever changed.
      return Response(status: .internalServerError)
    }
  }

  /// `{"error":{"code":"…","message":"…"}}`.
  private struct ErrorBody: Encodable {
    struct Detail: Encodable {
      var code: String
      var message: String
    }

    var error: Detail
  }
}
