internal import BulkCore
internal import BulkFormats
internal import NIOCore
internal import Testing

@Suite("RecordSplitter on CSV")
struct RecordSplitterTests {
  /// Checks the chunks of `document` against the document and against `CSVRecordReader`.
  private static func check(
    _ document: RandomCSV,
    header: ByteBuffer?,
    chunks: [RecordChunk],
    maxRecords: Int,
    maxBytes: Int
  ) throws {
    let expected = try Feeding.readCSV([Feeding.buffer(document.bytes)])
    #expect(expected.records.map(\.fields) == document.records)
    let header = try #require(header)
    var joined = Array(header.readableBytesView)
    for chunk in chunks {
      joined += chunk.bytes.readableBytesView
    }
    if document.records.isEmpty {
      #expect(chunks.isEmpty)
      #expect(joined == Array(document.bytesWithoutBOM.dropLast(document.trailingBlankBytes)))
      return
    }
    #expect(joined == document.bytesWithoutBOM)
    #expect(chunks.reduce(0) { $0 + $1.recordCount } == document.records.count)

    var firstRecord: Int64 = 1
    var offset = Int64(document.bytes.count - document.bytesWithoutBOM.count + header.readableBytes)
    for (index, chunk) in chunks.enumerated() {
      #expect(chunk.index == index)
      #expect(chunk.firstRecord == firstRecord)
      #expect(chunk.offset == offset)
      #expect(chunk.recordCount >= 1 && chunk.recordCount <= maxRecords)
      let isLast = index == chunks.count - 1
      let size = chunk.bytes.readableBytes - (isLast ? document.trailingBlankBytes : 0)
      #expect(size <= maxBytes || chunk.recordCount == 1, "chunk \(index) has \(size) bytes")

      // Each chunk read alone gives exactly its records: no cut fell inside a quoted field.
      var reader = CSVRecordReader(
        delimiter: UInt8(ascii: ","),
        header: document.header,
        firstRecord: chunk.firstRecord,
        startOffset: chunk.offset
      )
      var records: [CSVRecord] = []
      try reader.feed(chunk.bytes) { records.append($0) }
      try reader.finish { records.append($0) }
      let range = Int(chunk.firstRecord - 1) ..< Int(chunk.firstRecord - 1) + chunk.recordCount
      #expect(records.map(\.fields) == Array(document.records[range]))
      #expect(records.map(\.offset) == expected.records[range].map(\.offset))
      #expect(records.map(\.number) == expected.records[range].map(\.number))

      firstRecord += Int64(chunk.recordCount)
      offset += Int64(chunk.bytes.readableBytes)
    }
  }

  @Test("random CSV in random pieces: every record once, cut only between records", arguments: 0 ..< 80)
  func randomDocuments(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    let document = RandomCSV(using: &random, maxRecords: 150)
    let maxPiece = [1, 7, 64, 4096].randomElement(using: &random)!
    let maxRecords = Int.random(in: 1 ... 20, using: &random)
    let maxBytes = Int.random(in: 1 ... 2_000, using: &random)
    let (header, chunks) = try Feeding.split(
      Feeding.pieces(of: document.bytes, maxPiece: maxPiece, using: &random),
      format: .csv,
      maxRecords: maxRecords,
      maxBytes: maxBytes
    )
    try Self.check(document, header: header, chunks: chunks, maxRecords: maxRecords, maxBytes: maxBytes)
  }

  @Test("chunks by record count and by size; blank lines go with the record after them")
  func sizes() throws {
    let text = "\u{FEFF}id,v\r\n1,a\n\n2,\"b\nb\"\n3,c\n\r\n4,dddddddddddddddddddd\n5,e\n\n"
    let (header, chunks) = try Feeding.split([Feeding.buffer(text)], format: .csv, maxRecords: 2, maxBytes: 16)
    #expect(header.map { String(buffer: $0) } == "id,v\r\n")
    #expect(
      chunks.map { String(buffer: $0.bytes) } == [
        "1,a\n\n2,\"b\nb\"\n", "3,c\n", "\r\n4,dddddddddddddddddddd\n", "5,e\n\n",
      ]
    )
    #expect(chunks.map(\.firstRecord) == [1, 3, 4, 5])
    #expect(chunks.map(\.recordCount) == [2, 1, 1, 1])
    #expect(chunks.map(\.offset) == [9, 22, 26, 51])
  }

  @Test("a last record without a line end, a header only, and an empty input")
  func edges() throws {
    let last = try Feeding.split([Feeding.buffer("a\n1\n2")], format: .csv, maxRecords: 10, maxBytes: 100)
    #expect(last.chunks.map { String(buffer: $0.bytes) } == ["1\n2"])
    let headerOnly = try Feeding.split([Feeding.buffer("a,b")], format: .csv, maxRecords: 10, maxBytes: 100)
    #expect(headerOnly.header.map { String(buffer: $0) } == "a,b")
    #expect(headerOnly.chunks.isEmpty)
    let empty = try Feeding.split([], format: .csv, maxRecords: 10, maxBytes: 100)
    #expect(empty.header == nil && empty.chunks.isEmpty)
  }

  @Test("completed records count those whose end was seen, before their chunk is given out")
  func completedRecords() throws {
    var splitter = RecordSplitter(format: .csv, delimiter: UInt8(ascii: ","), maxRecords: 10, maxBytes: 100)
    try splitter.feed(Feeding.buffer("a\n1\n\"2\n")) { _ in }
    #expect(splitter.completedRecords == 1)
    try splitter.feed(Feeding.buffer("\"\n3")) { _ in }
    #expect(splitter.completedRecords == 2)
    try splitter.finish { _ in }
    #expect(splitter.completedRecords == 3)
  }

  @Test("a quote still open at the end is refused")
  func unclosedQuote() throws {
    let error = try #require(throws: FormatError.self) {
      try Feeding.split([Feeding.buffer("a,b\n1,2\n3,\"x\n4,5\n")], format: .csv, maxRecords: 10, maxBytes: 100)
    }
    #expect(error.kind == .malformed)
    #expect(error.record == 2)
    #expect(error.offset == 10)
    #expect(error.message.contains("record 2 at byte 8 has a quoted field that is never closed"))
  }

  @Test("a record longer than the limit is refused while it is read, so memory stays bounded")
  func tooLong() throws {
    var splitter = RecordSplitter(
      format: .csv,
      delimiter: UInt8(ascii: ","),
      maxRecords: 10,
      maxBytes: 100,
      maxRecordBytes: 1_000
    )
    try splitter.feed(Feeding.buffer("a\n1\n\"")) { _ in }
    let error = try #require(throws: FormatError.self) {
      for _ in 0 ..< 100 {
        try splitter.feed(Feeding.buffer(String(repeating: "x", count: 100))) { _ in }
      }
    }
    #expect(error.kind == .limitExceeded)
    #expect(error.record == 2)
    #expect(error.message == "record 2 at byte 4 is longer than 1000 bytes")
  }
}
