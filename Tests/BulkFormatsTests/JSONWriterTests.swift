internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
  @Test("an array of objects, one per line, escaped")
  func output() {
    var writer = JSONWriter()
    var buffer = ByteBuffer()
    writer.beginArray(into: &buffer)
    writer.write(object: [("a", .string("q\"\\\n\r\t\u{01}\u{1F}é")), ("b", .null)], into: &buffer)
    writer.write(object: [("n", .number("1.5e3")), ("x", .array([.bool(true), .object([])]))], into: &buffer)
    writer.endArray(into: &buffer)
    #expect(
      String(buffer: buffer)
        == "[\n{\"a\":\"q\\\"\\\\\\n\\r\\t\\u0001\\u001fé\",\"b\":null},\n{\"n\":1.5e3,\"x\":[true,{}]}\n]\n"
    )
  }

  @Test("an empty array")
  func empty() throws {
    var writer = JSONWriter()
    var buffer = ByteBuffer()
    writer.beginArray(into: &buffer)
    writer.endArray(into: &buffer)
    #expect(String(buffer: buffer) == "[\n]\n")
    #expect(try Feeding.readJSON([buffer]).isEmpty)
  }

  @Test("a number that JSON cannot write is written as a string")
  func invalidNumbers() throws {
    var writer = JSONWriter()
    var buffer = ByteBuffer()
    writer.beginArray(into: &buffer)
    writer.write(object: [("a", .number("NaN")), ("b", .number("-Infinity")), ("c", .number("01"))], into: &buffer)
    writer.endArray(into: &buffer)
    let records = try Feeding.readJSON([buffer])
    #expect(records.first?.fields.map(\.value) == [.string("NaN"), .string("-Infinity"), .string("01")])
  }

  @Test("random objects read back unchanged", arguments: 0 ..< 20)
  func roundTrip(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    let document = RandomJSON(using: &random, isArray: true, maxRecords: 20)
    var writer = JSONWriter()
    var buffer = ByteBuffer()
    writer.beginArray(into: &buffer)
    for record in document.records {
      writer.write(object: record, into: &buffer)
    }
    writer.endArray(into: &buffer)
    let records = try Feeding.readJSON(
      Feeding.pieces(of: Array(buffer.readableBytesView), maxPiece: 40, using: &random)
    )
    #expect(records.map { JSONValue.object($0.fields) } == document.records.map { JSONValue.object($0) })
  }
}
