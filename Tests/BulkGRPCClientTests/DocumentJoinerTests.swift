internal import BulkGRPCClient
internal import Foundation
internal import Testing

/// Result pages joined into one document, fed in pieces of every size.
@Suite("DocumentJoiner")
struct DocumentJoinerTests {
  /// Joins `pages`, each cut into pieces of `piece` bytes.
  static func join(_ pages: [String], format: DocumentJoiner.Format, piece: Int) -> String {
    var joiner = DocumentJoiner(format: format)
    var output = Data()
    for page in pages {
      output += joiner.beginPage()
      let bytes = Data(page.utf8)
      for start in stride(from: 0, to: bytes.count, by: piece) {
        output += joiner.feed(bytes[start ..< min(start + piece, bytes.count)])
      }
      joiner.endPage()
    }
    output += joiner.finish()
    return String(decoding: output, as: UTF8.self)
  }

  @Test(
    "CSV: the header of every page after the first is dropped, even a quoted one with a line break",
    arguments: [1, 3, 64]
  )
  func csv(piece: Int) {
    let header = "_record,\"a\nb\"\n"
    let joined = Self.join([header + "1,x\n", header + "2,\"y\nz\"\n", header], format: .csv, piece: piece)
    #expect(joined == header + "1,x\n2,\"y\nz\"\n")
  }

  @Test("JSON: arrays are merged, empty pages and spacing included", arguments: [1, 2, 64])
  func json(piece: Int) throws {
    let joined = Self.join(
      ["[]", "[{\"a\":1},\n {\"a\":\"]\"}]\n", " [ ] ", "[{\"a\":3}]"],
      format: .json,
      piece: piece
    )
    let values = try #require(try JSONSerialization.jsonObject(with: Data(joined.utf8)) as? [[String: Any]])
    #expect(values.count == 3)
    #expect(values[1]["a"] as? String == "]")
  }

  @Test("no page at all is an empty document")
  func noPages() {
    #expect(Self.join([], format: .json, piece: 1) == "[]")
    #expect(Self.join([], format: .csv, piece: 1) == "")
  }
}
