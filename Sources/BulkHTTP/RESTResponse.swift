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
    var fields = headers
    fields[.contentType] = "application/json"
    let data = try Self.encoder.encode(value)
    return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }

  /// One encoder for every response: URLs stay readable for curl users, and sorted keys make the
  /// output the same every time.
  private static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }()

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
