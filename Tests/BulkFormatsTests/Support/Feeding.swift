internal import BulkCore
internal import BulkFormats
internal import NIOCore

/// Helpers to feed byte arrays to the readers in pieces.
enum Feeding {
  /// `bytes` as a ByteBuffer.
  static func buffer(_ bytes: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: bytes)
  }

  /// `bytes` as a ByteBuffer from a string's UTF-8.
  static func buffer(_ text: String) -> ByteBuffer {
    ByteBuffer(string: text)
  }

  /// `bytes` cut into pieces of random sizes, from 1 byte up to `maxPiece`.
  static func pieces(of bytes: [UInt8], maxPiece: Int, using random: inout SplitMix64) -> [ByteBuffer] {
    var pieces: [ByteBuffer] = []
    var start = 0
    while start < bytes.count {
      let size =
        random.oneIn(3) ? Int.random(in: 1 ... 4, using: &random) : Int.random(in: 1 ... maxPiece, using: &random)
      let end = min(bytes.count, start + size)
      pieces.append(ByteBuffer(bytes: bytes[start ..< end]))
      start = end
    }
    return pieces
  }

  /// `bytes` cut into pieces of `size` bytes.
  static func pieces(of bytes: [UInt8], size: Int) -> [ByteBuffer] {
    stride(from: 0, to: bytes.count, by: size).map { ByteBuffer(bytes: bytes[$0 ..< min(bytes.count, $0 + size)]) }
  }

  /// Reads a CSV stream fed as `pieces`: the header and the data records.
  static func readCSV(
    _ pieces: [ByteBuffer],
    delimiter: UInt8 = UInt8(ascii: ",")
  ) throws -> (header: [String]?, records: [CSVRecord]) {
    var reader = CSVRecordReader(delimiter: delimiter)
    var records: [CSVRecord] = []
    for piece in pieces {
      try reader.feed(piece) { records.append($0) }
    }
    try reader.finish { records.append($0) }
    return (reader.header, records)
  }

  /// Reads a CSV text in one piece.
  static func readCSV(
    _ text: String,
    delimiter: UInt8 = UInt8(ascii: ",")
  ) throws -> (
    header: [String]?, records: [CSVRecord]
  ) {
    try Self.readCSV([Self.buffer(text)], delimiter: delimiter)
  }

  /// Reads a JSON stream fed as `pieces`.
  static func readJSON(_ pieces: [ByteBuffer]) throws -> [JSONRecord] {
    var reader = JSONRecordReader()
    var records: [JSONRecord] = []
    for piece in pieces {
      try reader.feed(piece) { records.append($0) }
    }
    try reader.finish { records.append($0) }
    return records
  }

  /// Reads a JSON text in one piece.
  static func readJSON(_ text: String) throws -> [JSONRecord] {
    try Self.readJSON([Self.buffer(text)])
  }

  /// Splits `pieces` into chunks.
  static func split(
    _ pieces: [ByteBuffer],
    format: ContentType,
    maxRecords: Int,
    maxBytes: Int
  ) throws -> (header: ByteBuffer?, chunks: [RecordChunk]) {
    var splitter = RecordSplitter(
      format: format,
      delimiter: UInt8(ascii: ","),
      maxRecords: maxRecords,
      maxBytes: maxBytes
    )
    var chunks: [RecordChunk] = []
    for piece in pieces {
      try splitter.feed(piece) { chunks.append($0) }
    }
    try splitter.finish { chunks.append($0) }
    return (splitter.header, chunks)
  }
}
