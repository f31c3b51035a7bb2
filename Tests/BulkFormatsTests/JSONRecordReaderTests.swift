internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("JSONRecordReader")
struct JSONRecordReaderTests {
  @Test("an array of objects: members in order, numbers as literals, escapes decoded")
  func array() throws {
    let first = #"{"id": 1, "name": "A \"q\" \u00e9\ud83d\ude00", "tags": ["x", null, true], "n": -1.50e+3}"#
    let second = #"{"nested": {"a": [1, {"b": false}]}, "empty": {}, "list": []}"#
    let text = " [ " + first + ",\n  " + second + " ]\n"
    let records = try Feeding.readJSON(text)
    #expect(records.count == 2)
    #expect(records.map(\.number) == [1, 2])
    #expect(records.map(\.offset) == [3, Int64(3 + first.utf8.count + 4)])
    #expect(records[0].fields.map(\.key) == ["id", "name", "tags", "n"])
    #expect(records[0].value(forKey: "id") == .number("1"))
    #expect(records[0].value(forKey: "name") == .string("A \"q\" é😀"))
    #expect(records[0].value(forKey: "tags") == .array([.string("x"), .null, .bool(true)]))
    #expect(records[0].value(forKey: "n") == .number("-1.50e+3"))
    #expect(
      records[1].value(forKey: "nested") == .object([("a", .array([.number("1"), .object([("b", .bool(false))])]))])
    )
    #expect(records[1].value(forKey: "empty") == .object([]))
    #expect(String(buffer: records[1].raw).hasPrefix("{\"nested\""))
  }

  @Test("newline-delimited objects, blank lines and CRLF")
  func lines() throws {
    let records = try Feeding.readJSON("{\"a\":1}\r\n\n  \n{\"a\":2}  \n{\"a\":\"3\"}")
    #expect(records.map { $0.value(forKey: "a") } == [.number("1"), .number("2"), .string("3")])
    #expect(records.map(\.offset) == [0, 13, 23])
  }

  @Test("an empty array has no records; a BOM is skipped")
  func empty() throws {
    #expect(try Feeding.readJSON(" [ ] ").isEmpty)
    #expect(try Feeding.readJSON("\u{FEFF}[{}]").map(\.offset) == [4])
  }

  @Test("a chunk read with its place in the stream")
  func chunk() throws {
    var reader = JSONRecordReader(firstRecord: 7, startOffset: 1000)
    var records: [JSONRecord] = []
    try reader.feed(Feeding.buffer("{\"a\":1}\n{\"a\":2}\n")) { records.append($0) }
    try reader.finish { records.append($0) }
    #expect(records.map(\.number) == [7, 8])
    #expect(records.map(\.offset) == [1000, 1008])
  }

  @Test("random documents in random pieces read back to their values", arguments: 0 ..< 40)
  func randomDocuments(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    let document = RandomJSON(using: &random, isArray: seed % 2 == 0, maxRecords: 30)
    let records = try Feeding.readJSON(Feeding.pieces(of: document.bytes, maxPiece: 50, using: &random))
    #expect(records.count == document.records.count)
    for (record, expected) in zip(records, document.records) {
      #expect(JSONValue.object(record.fields) == JSONValue.object(expected))
    }
    #expect(records.map(\.offset) == document.offsets)
    #expect(records.map { Array($0.raw.readableBytesView) } == document.objectTexts)
  }

  @Test(
    "malformed JSON names the place and the reason",
    arguments: [
      ("[{\"a\":1} {\"a\":2}]", 9, nil, "expected ',' or ']' after record 1, found '{' at byte 9"),
      ("[{\"a\":1},]", 8, nil, "the JSON array has a trailing comma at byte 8"),
      ("[{\"a\":1,}]", 8, 1, "record 1 at byte 1: expected a key in quotes after ',', found '}' at byte 8"),
      ("{\"a\":1 \"b\":2}", 7, 1, "expected ',' or '}' after a member, found '\"' at byte 7"),
      ("[{\"a\":\"xyz", 6, 1, "record 1 at byte 1 has a string starting at byte 6 that is not terminated"),
      ("[{\"a\":1},42]", 9, 2, "record 2 at byte 9 is a number, expected an object"),
      ("[{\"a\":1},\"s\"]", 9, 2, "record 2 at byte 9 is a string, expected an object"),
      ("[{\"a\":1}] x", 10, nil, "unexpected 'x' at byte 10 after the end of the JSON array"),
      ("[{\"a\":1}", 8, nil, "the JSON array is not closed: the input ends at byte 8"),
      ("{\"a\":1,\"a\":2}", 7, 1, "record 1 at byte 0 has the key \"a\" twice; the second is at byte 7"),
      ("{\"a\":\"\\x\"}", 6, 1, "\\x is not a JSON escape"),
      ("{\"a\":\"\\ud800\"}", 6, 1, "high surrogate is not followed by a low surrogate"),
      ("{\"a\":\"\\udc00\"}", 6, 1, "low surrogate has no high surrogate"),
      ("{\"a\":\"\\u12g4\"}", 6, 1, "four hexadecimal digits"),
      ("{\"a\":01}", 6, 1, "leading zero"),
      ("{\"a\":1.}", 7, 1, "expected a digit after '.'"),
      ("{\"a\":-}", 6, 1, "expected a digit in a number"),
      ("{\"a\":tru}", 5, 1, "expected true"),
      ("{\"a\":\"x\ny\"}", 7, 1, "control character 0x0A"),
      ("{\"a\":[1}", 7, 1, "expected ',' or ']' in an array, found '}' at byte 7"),
      ("{\"a\":1}\n[1]\n", 8, 2, "record 2 at byte 8 is an array, expected an object"),
      ("{\"a\":1} {\"b\":2}\n", 8, 1, "is followed by '{' at byte 8 on the same line"),
      ("{\"a\":1}\n{\"b\":", 13, 2, "record 2 at byte 8 ends at byte 13 where a value was expected"),
      ("", 0, nil, "the input holds no JSON"),
      ("x", 0, 1, "unexpected 'x' at byte 0, expected '[' or '{'"),
      ("{a:1}", 1, 1, "expected a key in quotes after '{'"),
    ] as [(String, Int64, Int64?, String)]
  )
  func malformed(text: String, offset: Int64, record: Int64?, message: String) throws {
    let error = try #require(throws: FormatError.self) { try Feeding.readJSON(text) }
    #expect(error.kind == .malformed)
    #expect(error.offset == offset)
    #expect(error.record == record)
    #expect(error.message.contains(message), "\(error.message)")
  }

  @Test("bad UTF-8 in a string names the record and the byte")
  func invalidUTF8() throws {
    let bytes = Array("[{\"a\":1},{\"a\":\"".utf8) + [0xC3, 0x28] + Array("\"}]".utf8)
    for size in [1, 3, bytes.count] {
      let error = try #require(throws: FormatError.self) { try Feeding.readJSON(Feeding.pieces(of: bytes, size: size)) }
      #expect(error.offset == 15)
      #expect(error.record == 2)
      #expect(error.message == "record 2 at byte 9 is not valid UTF-8 at byte 15")
    }
  }

  @Test("nesting deeper than the limit is refused")
  func deepNesting() throws {
    let text = "{\"a\":" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}"
    let error = try #require(throws: FormatError.self) { try Feeding.readJSON(text) }
    #expect(error.kind == .limitExceeded)
    #expect(error.message.contains("nests deeper than 256 levels"))
  }

  @Test("an object longer than the limit is refused")
  func tooLong() throws {
    var reader = JSONRecordReader(maxRecordBytes: 64)
    let error = try #require(throws: FormatError.self) {
      try reader.feed(Feeding.buffer("[{\"a\":\"" + String(repeating: "x", count: 40))) { _ in }
      try reader.feed(Feeding.buffer(String(repeating: "x", count: 40) + "\"}]")) { _ in }
    }
    #expect(error.kind == .limitExceeded)
    #expect(error.record == 1)
    #expect(error.offset == 1)
  }
}
