internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("CSVHeaderReader")
struct CSVHeaderReaderTests {
  private static func header(_ text: String, delimiter: UInt8 = UInt8(ascii: ",")) throws(FormatError) -> [String] {
    var reader = CSVHeaderReader(delimiter: delimiter)
    if let columns = try reader.feed(Feeding.buffer(text)) {
      return columns
    }
    return try reader.finish()
  }

  @Test(
    "column names",
    arguments: [
      ("id,name,email\n1,a,b\n", ["id", "name", "email"]),
      ("id,name\r\n1,a\r\n", ["id", "name"]),
      ("\u{FEFF}id,name\n", ["id", "name"]),
      ("\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n", ["a,b", "say \"hi\"", "two\nlines"]),
      ("id,name", ["id", "name"]),
      ("\n\r\nid\n", ["id"]),
      (" id , name \n", [" id ", " name "]),
      ("名前,😀\n", ["名前", "😀"]),
    ]
  )
  func columns(text: String, expected: [String]) throws {
    #expect(try Self.header(text) == expected)
  }

  @Test("other delimiters", arguments: ["\t", "|", ";", "^", "`"])
  func delimiters(delimiter: String) throws {
    let byte = delimiter.utf8.first!
    #expect(
      try Self.header("a\(delimiter)b,c\(delimiter)\"d\(delimiter)e\"\n", delimiter: byte) == [
        "a", "b,c", "d\(delimiter)e",
      ]
    )
  }

  @Test("a header fed one byte at a time, with a BOM and CRLF")
  func bytewise() throws {
    var reader = CSVHeaderReader(delimiter: UInt8(ascii: ","))
    let bytes = Array("\u{FEFF}\"first\r\nname\",last\r\n1,2\r\n".utf8)
    var columns: [String]?
    for (index, byte) in bytes.enumerated() {
      columns = try reader.feed(ByteBuffer(bytes: [byte]))
      if columns != nil {
        #expect(index == bytes.count - 6)
        break
      }
    }
    #expect(columns == ["first\r\nname", "last"])
    #expect(try reader.feed(Feeding.buffer("ignored")) == ["first\r\nname", "last"])
  }

  @Test("a header naming more columns than allowed is limitExceeded at its byte offset; 4,096 are allowed by default")
  func columnLimit() throws {
    var narrow = CSVHeaderReader(delimiter: UInt8(ascii: ","), maxColumns: 3)
    #expect(try narrow.feed(Feeding.buffer("a,b,c\n")) == ["a", "b", "c"])

    var wide = CSVHeaderReader(delimiter: UInt8(ascii: ","), maxColumns: 3)
    let error = #expect(throws: FormatError.self) { try wide.feed(Feeding.buffer("\n\na,b,c,d\n")) }
    #expect(error?.kind == .limitExceeded)
    #expect(error?.message == "the header at byte 2 names 4 columns, more than the 3 allowed (--max-columns)")

    let names = (1 ... 4097).map { "c\($0)" }
    var byDefault = CSVHeaderReader(delimiter: UInt8(ascii: ","))
    #expect(throws: FormatError.self) { try byDefault.feed(Feeding.buffer(names.joined(separator: ",") + "\n")) }
    var atDefault = CSVHeaderReader(delimiter: UInt8(ascii: ","))
    #expect(try atDefault.feed(Feeding.buffer(names.dropLast().joined(separator: ",") + "\n"))?.count == 4096)
  }

  @Test("bytes after the header are not read, even when they are malformed")
  func afterHeader() throws {
    var reader = CSVHeaderReader(delimiter: UInt8(ascii: ","))
    #expect(try reader.feed(ByteBuffer(bytes: Array("a,b\n\"x".utf8) + [0xC3, 0x28])) == ["a", "b"])
  }

  @Test("a BOM cut across pieces, and a stream shorter than a BOM")
  func shortStarts() throws {
    var reader = CSVHeaderReader(delimiter: UInt8(ascii: ","))
    #expect(try reader.feed(ByteBuffer(bytes: [0xEF])) == nil)
    #expect(try reader.feed(ByteBuffer(bytes: [0xBB])) == nil)
    #expect(try reader.feed(ByteBuffer(bytes: [0xBF, UInt8(ascii: "x")])) == nil)
    #expect(try reader.finish() == ["x"])

    var short = CSVHeaderReader(delimiter: UInt8(ascii: ","))
    #expect(try short.feed(ByteBuffer(bytes: [0xEF])) == nil)
    let error = #expect(throws: FormatError.self) { try short.finish() }
    #expect(error?.message.contains("not valid UTF-8") == true)
  }

  @Test(
    "invalid headers",
    arguments: [
      ("", 0, "has no header"),
      ("\n\r\n\n", 4, "has no header"),
      ("id,name,id\n", 0, "names column 'id' twice"),
      ("id,,name\n", 0, "empty name for column 2"),
      ("\"\"\n", 0, "empty name for column 1"),
      ("id,\"name\n", 3, "never closed"),
      ("id,na\"me\n", 5, "quote inside an unquoted field"),
      ("id,\"name\"x\n", 9, "'x' after the closing quote"),
    ] as [(String, Int64, String)]
  )
  func invalid(text: String, offset: Int64, message: String) throws {
    let error = try #require(throws: FormatError.self) { try Self.header(text) }
    #expect(error.kind == .malformed)
    #expect(error.offset == offset)
    #expect(error.record == 0)
    #expect(error.message.contains(message), "\(error.message)")
  }

  @Test("a header that is not UTF-8")
  func invalidUTF8() throws {
    var reader = CSVHeaderReader(delimiter: UInt8(ascii: ","))
    let error = try #require(throws: FormatError.self) {
      _ = try reader.feed(ByteBuffer(bytes: Array("id,n".utf8) + [0xC3, 0x28] + Array("\n".utf8)))
    }
    #expect(error.offset == 4)
    #expect(error.record == 0)
    #expect(error.message == "the header at byte 0 is not valid UTF-8 at byte 4")
  }
}
