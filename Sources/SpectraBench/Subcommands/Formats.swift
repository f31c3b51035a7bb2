internal import ArgumentParser
internal import BulkCore
internal import BulkFormats
internal import CompressNIO
internal import Foundation
internal import NIOCore

/// `spectra-bench formats`: the speed of the format readers on a generated CSV, against a plain
/// `memchr` pass over the same bytes.
struct Formats: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "formats",
    abstract: "Times RecordSplitter, CSVRecordReader and GzipInflater against a memchr pass over generated CSV."
  )

  @Option(help: "Megabytes (MiB) of CSV to generate.")
  var megabytes = 200

  @Option(help: "Runs of each pass; the median is reported.")
  var runs = 5

  /// The size of the pieces the readers are fed, as the upload path feeds them.
  private static let pieceSize = 1 << 20

  func run() throws {
    let data = SampleCSV.make(bytes: self.megabytes << 20)
    let compressed = try Self.gzip(data)
    print(
      "formats: \(data.readableBytes) bytes of CSV (\(compressed.readableBytes) gzipped), "
        + "median of \(self.runs) runs, fed in \(Self.pieceSize >> 20) MiB pieces"
    )

    let pieces = Self.pieces(of: data)
    let compressedPieces = Self.pieces(of: compressed)
    let lineFeeds = self.measure { Self.countLineFeeds(data) }
    let split = try self.measure { try Self.split(pieces) }
    let parsed = try self.measure { try Self.parse(pieces) }
    let inflated = try self.measure { try Self.inflate(compressedPieces) }
    guard split.value == lineFeeds.value - 1, parsed.value == split.value, inflated.value == data.readableBytes else {
      throw ValidationError(
        "the passes disagree: \(lineFeeds.value) line feeds, \(split.value) records split, "
          + "\(parsed.value) records parsed, \(inflated.value) bytes inflated"
      )
    }

    let baseline = Self.megabytesPerSecond(data.readableBytes, lineFeeds.seconds)
    print("pass                                 MB/s   vs memchr")
    for (name, seconds) in [
      ("memchr '\\n' count", lineFeeds.seconds),
      ("RecordSplitter (maxRecords 10000)", split.seconds),
      ("CSVRecordReader (all fields)", parsed.seconds),
      ("GzipInflater (inflated bytes)", inflated.seconds),
    ] {
      let speed = Self.megabytesPerSecond(data.readableBytes, seconds)
      print(
        name.padding(toLength: 34, withPad: " ", startingAt: 0)
          + String(format: "%8.0f   %6.2f", speed, speed / baseline)
      )
    }
  }

  /// Runs `body` `runs` times: its result and the median time in seconds.
  private func measure<Value>(_ body: () throws -> Value) rethrows -> (value: Value, seconds: Double) {
    let clock = ContinuousClock()
    var value: Value?
    var times: [Double] = []
    for _ in 0 ..< max(1, self.runs) {
      let start = clock.now
      value = try body()
      let elapsed = start.duration(to: clock.now).components
      times.append(Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
    }
    times.sort()
    return (value!, times[times.count / 2])
  }

  private static func megabytesPerSecond(_ bytes: Int, _ seconds: Double) -> Double {
    Double(bytes) / 1e6 / seconds
  }

  /// The baseline: counts line feeds with `memchr`.
  private static func countLineFeeds(_ data: ByteBuffer) -> Int {
    data.withUnsafeReadableBytes { raw in
      guard var position = raw.baseAddress else { return 0 }
      let end = position + raw.count
      var count = 0
      while position < end, let found = memchr(position, 0x0A, end - position) {
        count += 1
        position = UnsafeRawPointer(found) + 1
      }
      return count
    }
  }

  /// The pieces the readers are fed: buffers of their own, as an upload's messages arrive.
  private static func pieces(of data: ByteBuffer) -> [ByteBuffer] {
    stride(from: 0, to: data.readableBytes, by: Self.pieceSize).map { start in
      var piece = ByteBufferAllocator().buffer(capacity: Self.pieceSize)
      piece.writeImmutableBuffer(
        data.getSlice(at: data.readerIndex + start, length: min(Self.pieceSize, data.readableBytes - start))!
      )
      return piece
    }
  }

  /// Splits the CSV into chunks; returns the records counted in them.
  private static func split(_ pieces: [ByteBuffer]) throws -> Int {
    var splitter = RecordSplitter(
      format: .csv,
      delimiter: UInt8(ascii: ","),
      maxRecords: 10_000,
      maxBytes: 8 << 20
    )
    var records = 0
    for piece in pieces {
      try splitter.feed(piece) { records += $0.recordCount }
    }
    try splitter.finish { records += $0.recordCount }
    return records
  }

  /// Reads every field of the CSV; returns the records read.
  private static func parse(_ pieces: [ByteBuffer]) throws -> Int {
    var reader = CSVRecordReader(delimiter: UInt8(ascii: ","))
    var records = 0
    var fieldBytes = 0
    for piece in pieces {
      try reader.feed(piece) { record in
        records += 1
        fieldBytes += record.fields[4].utf8.count
      }
    }
    try reader.finish { _ in records += 1 }
    return fieldBytes > 0 ? records : 0
  }

  /// Inflates the gzipped CSV; returns the inflated bytes.
  private static func inflate(_ pieces: [ByteBuffer]) throws -> Int {
    let inflater = try GzipInflater(limits: InflateLimits())
    var bytes = 0
    for piece in pieces {
      try inflater.inflate(piece) { bytes += $0.readableBytes }
    }
    try inflater.finish()
    return bytes
  }

  /// The CSV gzipped in one member at zlib's default level.
  private static func gzip(_ data: ByteBuffer) throws -> ByteBuffer {
    let compressor = try ZlibCompressor(algorithm: .gzip)
    var input = data
    var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
    try compressor.deflate(from: &input, to: &output, flush: .finish)
    return output
  }
}

/// A deterministic CSV of customer payments: `id,name,email,created_at,amount`, with a quoted
/// name holding a comma (and sometimes a doubled quote) in every fourth row.
enum SampleCSV {
  private static let firstNames = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
  private static let lastNames = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "O\"Brien"]

  /// At least `bytes` bytes of CSV, ending with a whole record.
  static func make(bytes: Int) -> ByteBuffer {
    let quotedLastNames = Self.lastNames.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") }
    let plainLastNames = Self.lastNames.map { $0.replacingOccurrences(of: "\"", with: "") }
    let emailNames = Self.firstNames.map { $0.lowercased() }
    var buffer = ByteBufferAllocator().buffer(capacity: bytes + 256)
    buffer.writeString("id,name,email,created_at,amount\n")
    var state: UInt64 = 0x5EED
    var id = 0
    while buffer.readableBytes < bytes {
      id += 1
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let random = Int(truncatingIfNeeded: state >> 33)
      let first = random % Self.firstNames.count
      let last = (random >> 3) % Self.lastNames.count
      buffer.writeString(String(id))
      buffer.writeInteger(UInt8(ascii: ","))
      if id % 4 == 0 {
        buffer.writeString(quotedLastNames[last] + ", " + Self.firstNames[first] + "\"")
      } else {
        buffer.writeString(Self.firstNames[first] + " " + plainLastNames[last])
      }
      buffer.writeString("," + emailNames[first] + "." + String(id) + "@example.com,")
      let second = (random >> 5) % 86_400
      buffer.writeString(
        "2024-" + Self.twoDigits(random % 12 + 1) + "-" + Self.twoDigits(random % 28 + 1) + "T"
          + Self.twoDigits(second / 3600) + ":" + Self.twoDigits(second / 60 % 60) + ":" + Self.twoDigits(second % 60)
          + "Z,"
      )
      buffer.writeString(String((random >> 7) % 100_000) + "." + Self.twoDigits((random >> 11) % 100) + "\n")
    }
    return buffer
  }

  private static func twoDigits(_ value: Int) -> String {
    value < 10 ? "0\(value)" : String(value)
  }
}
