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
    abstract:
      "Times the format readers against a memchr pass, and the result writers and RecordBatch encoding, on generated CSV."
  )

  @Option(help: "Megabytes (MiB) of CSV to generate.")
  var megabytes = 200

  @Option(help: "Runs of each pass; the median is reported.")
  var runs = 5

  @Option(help: "Megabytes (MiB) of the CSV whose records the result writers write.")
  var resultMegabytes = 32

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
    try self.measureResults(data)
  }

  /// Times the result writers and RecordBatch encoding on the records of the sample's first
  /// `resultMegabytes`, in MB/s of output.
  private func measureResults(_ data: ByteBuffer) throws {
    let records = try Self.resultRecords(data, limit: self.resultMegabytes << 20)
    let batches = try Self.recordBatches(records)
    let csv = self.measure { Self.writeCSVResults(records) }
    let json = self.measure { Self.writeJSONResults(records) }
    let chunkRecords = Self.chunkRecords(records)
    let copy = self.measure { Self.writeCopyText(chunkRecords) }
    let encoding = try self.measure { try Self.encode(batches) }
    let encoded = encoding.value
    let decoding = try self.measure { try Self.decode(encoded) }
    guard decoding.value == records.rows.count else {
      throw ValidationError("\(decoding.value) rows decoded of \(records.rows.count)")
    }
    let batchBytes = encoded.reduce(0) { $0 + $1.count }
    print(
      "results: \(records.rows.count) records; \(batches.count) RecordBatches of about "
        + "\((batchBytes / max(1, batches.count)) >> 10) KiB"
    )
    print("pass                                 MB/s (of output)")
    for (name, bytes, seconds) in [
      ("CSVWriter (successful rows)", csv.value, csv.seconds),
      ("JSONWriter (successful objects)", json.value, json.seconds),
      ("PostgreSQL COPY text (CopyRows)", copy.value, copy.seconds),
      ("RecordBatch protobuf encode", batchBytes, encoding.seconds),
      ("RecordBatch protobuf decode", batchBytes, decoding.seconds),
    ] {
      print(
        name.padding(toLength: 34, withPad: " ", startingAt: 0)
          + String(format: "%8.0f", Self.megabytesPerSecond(bytes, seconds))
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
      times.append(start.duration(to: clock.now).inSeconds)
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
