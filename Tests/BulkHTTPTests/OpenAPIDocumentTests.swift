import BulkCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import BulkHTTP

/// Keeps the hand-written OpenAPI document true to the router and the error mapping.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
  static var document: [String: Any] {
    let object = try? JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8))
    return object as? [String: Any] ?? [:]
  }

  static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]

  /// The path items, with `$ref` aliases resolved.
  static var paths: [String: [String: Any]] {
    let paths = Self.document["paths"] as? [String: [String: Any]] ?? [:]
    return paths.mapValues { item in
      guard let reference = item["$ref"] as? String, reference.hasPrefix("#/paths/") else { return item }
      let target = String(reference.dropFirst("#/paths/".count))
        .replacingOccurrences(of: "~1", with: "/")
        .replacingOccurrences(of: "~0", with: "~")
      return paths[target] ?? [:]
    }
  }

  @Test("the document is OpenAPI 3.0 JSON and is served at /v1/openapi.json")
  func served() async throws {
    #expect(Self.document["openapi"] as? String == "3.0.3")
    try await RESTHarness.run { _, client in
      let response = try await client.call(.get, "/v1/openapi.json", token: nil)
      #expect(response.status == .ok)
      #expect(response.headers[.contentType] == "application/json")
      #expect(response.text == OpenAPIDocument.json)
    }
  }

  @Test("every route the router registers is documented, and every documented operation is routed")
  func routesMatch() async throws {
    try await RESTHarness.withStack { harness in
      // The console's pages are HTML for browsers, not part of the REST contract.
      let routed = Set(
        harness.surface.router().routes.map { "\($0.method.rawValue) \($0.path)" }
          .filter { !$0.hasPrefix("GET /console") }
      )
      var documented: Set<String> = []
      for (path, item) in Self.paths {
        for method in item.keys where Self.methods.contains(method) {
          documented.insert("\(method.uppercased()) \(path)")
        }
      }
      #expect(routed == documented)
      #expect(routed.count == 19)
    }
  }

  @Test("every documented error status is one the error mapping answers with, and vice versa")
  func statusesMatch() {
    var documented: Set<Int> = []
    for item in Self.paths.values {
      for (method, operation) in item where Self.methods.contains(method) {
        let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
        documented.formUnion(responses.keys.compactMap(Int.init).filter { $0 >= 400 })
      }
    }
    let mapped = RESTError.errorStatuses
    #expect(documented.isSubset(of: mapped), "documented but never answered: \(documented.subtracting(mapped))")
    // 501 (UNIMPLEMENTED) belongs to no route today.
    #expect(mapped.subtracting(documented) == [501], "\(mapped.subtracting(documented))")
  }

  @Test("every $ref points into the document")
  func references() throws {
    let document = Self.document
    func check(_ value: Any) {
      if let object = value as? [String: Any] {
        if let reference = object["$ref"] as? String {
          let parts = reference.dropFirst(2).split(separator: "/").map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
          }
          var node: Any? = document
          for part in parts {
            node = (node as? [String: Any])?[part]
          }
          #expect(node != nil, "dangling \(reference)")
        }
        object.values.forEach(check)
      } else if let array = value as? [Any] {
        array.forEach(check)
      }
    }
    check(document)
  }
}
