internal import BulkCore
internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("RecordSplitter on JSON")
struct RecordSplitterJSONTests {
  @Test("random JSON in random pieces: every record once, in whole objects", arguments: 0 ..< 60)
  func randomDocuments(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    let document = RandomJSON(using: &random, isArray: seed % 2 == 0, maxRecords: 60)
    let maxRecords = Int.random(in: 1 ... 15, using: &random)
    let maxBytes = Int.random(in: 1 ... 1_500, using: &random)
    let pieces = Feeding.pieces(
      of: document.bytes,
      maxPiece: [1, 9, 100, 4096].randomElement(using: &random)!,
      using: &random
    )
    let (header, chunks) = try Feeding.split(pieces, format: .json, maxRecords: maxRecords, maxBytes: maxBytes)
    #expect(header == nil)

    let joined = chunks.flatMap { Array($0.bytes.readableBytesView) }
    if document.isArray {
      #expect(joined == document.normalizedObjects)
    } else {
      #expect(joined == document.bytes)
    }
    #expect(chunks.reduce(0) { $0 + $1.recordCount } == document.records.count)

    var firstRecord: Int64 = 1
    var offset: Int64 = 0
    for (index, chunk) in chunks.enumerated() {
      #expect(chunk.index == index)
      #expect(chunk.firstRecord == firstRecord)
      #expect(chunk.recordCount >= 1 && chunk.recordCount <= maxRecords)
      #expect(chunk.offset == (document.isArray ? document.offsets[Int(firstRecord - 1)] : offset))

      var reader = JSONRecordReader(firstRecord: chunk.firstRecord, startOffset: chunk.offset)
      var records: [JSONRecord] = []
      try reader.feed(chunk.bytes) { records.append($0) }
      try reader.finish { records.append($0) }
      let range = Int(firstRecord - 1) ..< Int(firstRecord - 1) + chunk.recordCount
      #expect(records.map { JSONValue.object($0.fields) } == document.records[range].map { JSONValue.object($0) })
      #expect(records.map(\.number) == range.map { Int64($0) + 1 })
      if !document.isArray {
        #expect(records.map(\.offset) == Array(document.offsets[range]))
        let isLast = index == chunks.count - 1
        #expect(chunk.bytes.readableBytes <= maxBytes || chunk.recordCount == 1 || isLast)
      }
      firstRecord += Int64(chunk.recordCount)
      offset += Int64(chunk.bytes.readableBytes)
    }
  }

  @Test("a JSON array becomes one object per line; NDJSON lines stay as they are")
  func layouts() throws {
    let array = try Feeding.split(
      [Feeding.buffer("\n[ {\"a\": 1},\n  {\"a\": [2, \"]\"]} ,{\"b\":{}}]\n")],
      format: .json,
      maxRecords: 2,
      maxBytes: 1_000
    )
    #expect(array.chunks.map { String(buffer: $0.bytes) } == ["{\"a\": 1}\n{\"a\": [2, \"]\"]}\n", "{\"b\":{}}\n"])
    #expect(array.chunks.map(\.offset) == [3, 32])

    let lines = try Feeding.split(
      [Feeding.buffer("\u{FEFF}{\"a\":1}\r\n\n{\"a\":2}\n{\"a\":3}")],
      format: .json,
      maxRecords: 2,
      maxBytes: 1_000
    )
    #expect(lines.chunks.map { String(buffer: $0.bytes) } == ["{\"a\":1}\r\n\n{\"a\":2}\n", "{\"a\":3}"])
    #expect(lines.chunks.map(\.offset) == [3, 21])
  }

  @Test(
    "what the splitter refuses in a JSON structure",
    arguments: [
      ("[{\"a\":1},2]", 9, "record 2 at byte 9 is a number, expected an object"),
      ("[{\"a\":1},]", 8, "trailing comma"),
      ("[{\"a\":1}{}]", 8, "expected ',' or ']' after record 1"),
      ("[{\"a\":[1}]", 8, "record 1 at byte 1 has a closing bracket at byte 8 that does not match"),
      ("[{\"a\":1}", 8, "the JSON array is not closed"),
      ("{\"a\":\"x}\n", 9, "record 1 at byte 0 is not closed"),
      ("[{}] {}", 5, "after the end of the JSON array"),
    ] as [(String, Int64, String)]
  )
  func refused(text: String, offset: Int64, message: String) throws {
    let error = try #require(throws: FormatError.self) {
      try Feeding.split([Feeding.buffer(text)], format: .json, maxRecords: 10, maxBytes: 100)
    }
    #expect(error.kind == .malformed)
    #expect(error.offset == offset)
    #expect(error.message.contains(message), "\(error.message)")
  }

  @Test("empty input and an empty array give no chunks")
  func empty() throws {
    #expect(try Feeding.split([], format: .json, maxRecords: 10, maxBytes: 100).chunks.isEmpty)
    #expect(try Feeding.split([Feeding.buffer(" [ ]\n")], format: .json, maxRecords: 10, maxBytes: 100).chunks.isEmpty)
  }
}
