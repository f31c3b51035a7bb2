internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("CSVRecordReader")
struct CSVRecordReaderTests {
  @Test("records, numbers, offsets and raw bytes")
  func records() throws {
    let text = "id,name\r\n1,\"Smith, John\"\r\n\r\n2,\"say \"\"hi\"\"\"\n\n3,\"two\r\nlines\"\n4,"
    let (header, records) = try Feeding.readCSV(text)
    #expect(header == ["id", "name"])
    #expect(records.map(\.fields) == [["1", "Smith, John"], ["2", "say \"hi\""], ["3", "two\r\nlines"], ["4", ""]])
    #expect(records.map(\.number) == [1, 2, 3, 4])
    #expect(records.map(\.offset) == [9, 28, 44, 59])
    #expect(
      records.map { String(buffer: $0.raw) } == [
        "1,\"Smith, John\"", "2,\"say \"\"hi\"\"\"", "3,\"two\r\nlines\"", "4,",
      ]
    )
  }

  @Test("a BOM is skipped and counted in offsets")
  func byteOrderMark() throws {
    let (header, records) = try Feeding.readCSV("\u{FEFF}a\nx\n")
    #expect(header == ["a"])
    #expect(records.first?.offset == 5)
  }

  @Test("a carriage return not followed by a line feed is data; at the end it is a line end")
  func carriageReturns() throws {
    let (_, records) = try Feeding.readCSV("a,b\nx\ry,z\r")
    #expect(records.map(\.fields) == [["x\ry", "z"]])
  }

  @Test("a header with no records, and a one-column file with an empty quoted value")
  func edges() throws {
    #expect(try Feeding.readCSV("a,b\n").records.isEmpty)
    #expect(try Feeding.readCSV("a\n\"\"\n\n").records.map(\.fields) == [[""]])
  }

  @Test("a chunk read with its header known: numbers and offsets continue the stream's")
  func knownHeader() throws {
    var reader = CSVRecordReader(delimiter: UInt8(ascii: ";"), header: ["a", "b"], firstRecord: 11, startOffset: 500)
    var records: [CSVRecord] = []
    try reader.feed(Feeding.buffer("1;2\n\u{FEFF}3;4")) { records.append($0) }
    try reader.finish { records.append($0) }
    #expect(records.map(\.number) == [11, 12])
    #expect(records.map(\.offset) == [500, 504])
    #expect(records.map(\.fields) == [["1", "2"], ["\u{FEFF}3", "4"]])
  }

  @Test("random documents in random pieces read back to their fields", arguments: 0 ..< 40)
  func randomDocuments(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    let document = RandomCSV(using: &random, maxRecords: 60)
    let pieces = Feeding.pieces(of: document.bytes, maxPiece: 64, using: &random)
    let (header, records) = try Feeding.readCSV(pieces)
    #expect(header == document.header)
    #expect(records.map(\.fields) == document.records)
    #expect(records.map(\.number) == (0 ..< records.count).map { Int64($0) + 1 })
    let whole = try Feeding.readCSV([Feeding.buffer(document.bytes)])
    #expect(whole.records == records)
  }

  @Test(
    "malformed input names the record, the offset and the reason",
    arguments: [
      ("a,b\n1,\"x\n", 6, 1, "record 1 at byte 4 has a quoted field that is never closed: the quote at byte 6"),
      ("a,b\n1,2\n3,4,5\n", 8, 2, "record 2 at byte 8 has 3 fields, the header has 2"),
      ("a,b\n1\n", 4, 1, "record 1 at byte 4 has 1 field, the header has 2"),
      ("a,b\n1,2\n\n3\r\n", 9, 2, "record 2 at byte 9 has 1 field, the header has 2"),
      ("a,b\n1,x\"y\n", 7, 1, "record 1 at byte 4 has a quote inside an unquoted field at byte 7"),
      ("a,b\n\"x\"y,2\n", 7, 1, "record 1 at byte 4 has 'y' after the closing quote of field 1 at byte 7"),
      ("a,b\n1,\"x\"\ry\n", 9, 1, "has 0x0D after the closing quote of field 2 at byte 9"),
      ("", 0, 0, "the CSV input has no header"),
      ("a,a\n", 0, 0, "the header at byte 0 names column 'a' twice"),
    ] as [(String, Int64, Int64, String)]
  )
  func malformed(text: String, offset: Int64, record: Int64, message: String) throws {
    let error = try #require(throws: FormatError.self) { try Feeding.readCSV(text) }
    #expect(error.kind == .malformed)
    #expect(error.offset == offset)
    #expect(error.record == record)
    #expect(error.message.contains(message), "\(error.message)")
  }

  @Test(
    "bad UTF-8 names the record and the byte, whatever the pieces",
    arguments: [
      (Array("a,b\n1,".utf8) + [0xC3, 0x28] + Array("\n".utf8), 6, 1),
      (Array("a,b\n1,2\n".utf8) + [0xFF], 8, 2),
      (Array("a,b\n1,\"".utf8) + [0xE2, 0x82] + Array("\"\n".utf8), 7, 1),
      (Array("a,b\n1,".utf8) + [0xED, 0xA0, 0x80] + Array("\n".utf8), 6, 1),
      (Array("a,b\n1,".utf8) + [0xF0, 0x9F, 0x98], 6, 1),
    ] as [([UInt8], Int64, Int64)]
  )
  func invalidUTF8(bytes: [UInt8], offset: Int64, record: Int64) throws {
    for size in [1, 2, 3, bytes.count] {
      let error = try #require(throws: FormatError.self) { try Feeding.readCSV(Feeding.pieces(of: bytes, size: size)) }
      #expect(error.offset == offset)
      #expect(error.record == record)
      #expect(error.message.contains("is not valid UTF-8 at byte \(offset)"), "\(error.message)")
    }
  }

  @Test("a record longer than the limit is refused, also when it is never closed")
  func tooLong() throws {
    var reader = CSVRecordReader(delimiter: UInt8(ascii: ","), maxRecordBytes: 100)
    try reader.feed(Feeding.buffer("a,b\n1,2\n\"")) { _ in }
    let error = try #require(throws: FormatError.self) {
      for _ in 0 ..< 10 {
        try reader.feed(Feeding.buffer(String(repeating: "x", count: 30))) { _ in }
      }
    }
    #expect(error.kind == .limitExceeded)
    #expect(error.record == 2)
    #expect(error.offset == 8)
    #expect(error.message == "record 2 at byte 8 is longer than 100 bytes")
  }

  @Test("an error thrown by the record handler propagates unchanged")
  func handlerError() throws {
    struct Stop: Error, Equatable {}
    var reader = CSVRecordReader(delimiter: UInt8(ascii: ","))
    #expect(throws: Stop()) {
      try reader.feed(Feeding.buffer("a\n1\n")) { _ in throw Stop() }
    }
  }
}
