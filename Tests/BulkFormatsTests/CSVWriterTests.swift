internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("CSVWriter")
struct CSVWriterTests {
  private static let nasty: [[String]] = [
    ["plain", "with,comma", "with \"quotes\"", "\"", "\"\""],
    ["line\nfeed", "carriage\rreturn", "crlf\r\nend", "\n", ""],
    [" leading", "trailing ", "\ttab", "ünïcödé 日本語 😀", "=HYPERLINK(\"x\")"],
    ["", "", "", "", ""],
    ["\u{FEFF}bom", "a|b", "a\tb", "a;b", " "],
  ]

  @Test("what it quotes")
  func quoting() {
    var buffer = ByteBuffer()
    CSVWriter(delimiter: UInt8(ascii: ",")).write(["a", "b,c", "say \"hi\"", " x", "y ", ""], into: &buffer)
    #expect(String(buffer: buffer) == "a,\"b,c\",\"say \"\"hi\"\"\",\" x\",\"y \",\n")
  }

  @Test("a record of one empty field is written as \"\" so that it is not a blank line")
  func singleEmptyField() throws {
    var buffer = ByteBuffer()
    let writer = CSVWriter(delimiter: UInt8(ascii: ","))
    writer.write(["name"], into: &buffer)
    writer.write([""], into: &buffer)
    #expect(String(buffer: buffer) == "name\n\"\"\n")
    #expect(try Feeding.readCSV([buffer]).records.map(\.fields) == [[""]])
  }

  @Test("nasty values read back unchanged", arguments: [",", "\t", "|", ";", "^", "`"])
  func roundTrip(delimiter: String) throws {
    let byte = delimiter.utf8.first!
    let writer = CSVWriter(delimiter: byte)
    var buffer = ByteBuffer()
    let header = ["c1", "c,2", "c\"3", "c 4", "c5"]
    writer.write(header, into: &buffer)
    for record in Self.nasty {
      writer.write(record, into: &buffer)
    }
    let (readHeader, records) = try Feeding.readCSV([buffer], delimiter: byte)
    #expect(readHeader == header)
    #expect(records.map(\.fields) == Self.nasty)
  }

  @Test("random values read back unchanged", arguments: 0 ..< 10)
  func randomRoundTrip(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    let document = RandomCSV(using: &random, maxRecords: 30)
    let writer = CSVWriter(delimiter: UInt8(ascii: ","))
    var buffer = ByteBuffer()
    writer.write(document.header, into: &buffer)
    for record in document.records {
      writer.write(record, into: &buffer)
    }
    let (header, records) = try Feeding.readCSV([buffer])
    #expect(header == document.header)
    #expect(records.map(\.fields) == document.records)
  }
}
