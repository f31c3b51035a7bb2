internal import BulkCore
internal import BulkFormats
internal import BulkPostgres
internal import NIOCore
internal import Synchronization

/// Turns the gzip CSV parts of an `UNLOAD`, fed piece by piece as they come from S3, into a
/// query job's rows: inflated as they arrive, cut into records by `CSVRecordReader` (a quoted
/// field may hold line ends), and handed to the sink in batches, as CSV lines or as typed
/// values. Nothing holds more than a batch and one record.
///
/// Every call blocks (the sink writes files); the owner makes them on a dispatch queue of its
/// own, one at a time, through `RedshiftUnloadPump`.
final class RedshiftUnloadRows {
  /// Bytes of CSV (or rows of values) per batch handed to the sink, as on PostgreSQL.
  static let batchBytes = 1 << 20
  static let batchRows = 1000

  private let columns: [QueryColumn]
  private let output: QueryOutput
  private let delimiter: UInt8
  private let request: QueryRequest
  private let sink: any QueryRowSink

  /// The rows handed to the sink so far.
  private(set) var rows: Int64 = 0
  private var csvBytes: [UInt8] = []
  private var csvStarts: [Int] = []
  private var values: [[FieldValue]] = []

  // The part being read.
  private var inflater: GzipInflater?
  private var reader: CSVRecordReader?
  private var partRecords: Int64 = 0
  /// For a single column, whose `NULL` is an empty line that `CSVRecordReader` skips: whether the
  /// inflated bytes so far end at a line start, and whether a quote is open.
  private var atLineStart = true
  private var inQuotes = false

  init(columns: [QueryColumn], delimiter: UInt8, request: QueryRequest, sink: any QueryRowSink) {
    self.columns = columns
    self.output = request.output
    self.delimiter = delimiter
    self.request = request
    self.sink = sink
  }

  /// Starts reading a part.
  func beginPart() throws {
    // The parts are the cluster's, not a client's upload: a result of one repeated value may
    // well inflate past any ratio, and its size is capped where the results are written.
    self.inflater = try GzipInflater(limits: InflateLimits(maxInflatedBytes: .max, maxRatio: .max))
    self.reader = CSVRecordReader(delimiter: self.delimiter, header: self.columns.map(\.name))
    self.partRecords = 0
    self.atLineStart = true
    self.inQuotes = false
  }

  /// Reads the next gzip bytes of the part.
  ///
  /// - Throws: `BulkError.queryCancelled` once the job was aborted or its deadline passed;
  ///   `FormatError` for a corrupt part; what the sink throws.
  func feed(_ compressed: ByteBuffer) throws {
    if self.request.cancellation.reason != nil {
      throw BulkError.queryCancelled(self.request.cancellation.reason, timeout: self.request.timeout)
    }
    try self.inflater?.inflate(compressed) { try self.read($0) }
  }

  /// The part has ended.
  ///
  /// - Returns: its rows.
  func endPart() throws -> Int64 {
    guard let inflater = self.inflater else { return 0 }
    // An UNLOAD of no rows may leave empty objects.
    if inflater.consumedBytes > 0 { try inflater.finish() }
    try self.reader?.finish { try self.accept($0) }
    self.inflater = nil
    self.reader = nil
    return self.partRecords
  }

  /// Hands the last batch to the sink.
  ///
  /// - Returns: the rows handed over in all.
  func finish() throws -> Int64 {
    try self.flush()
    return self.rows
  }

  /// Reads inflated CSV.
  private func read(_ piece: ByteBuffer) throws {
    guard self.columns.count == 1 else {
      try self.reader?.feed(piece) { try self.accept($0) }
      return
    }
    // A line of no bytes outside quotes is a row whose one value is NULL: the records before it
    // go to the reader first, then the NULL, so rows keep their order.
    let nullLines = piece.withUnsafeReadableBytes { raw in
      var lines: [Int] = []
      for index in 0 ..< raw.count {
        let byte = raw[index]
        if byte == UInt8(ascii: "\"") {
          self.inQuotes.toggle()
          self.atLineStart = false
        } else if byte == UInt8(ascii: "\n") && !self.inQuotes {
          if self.atLineStart { lines.append(index) }
          self.atLineStart = true
        } else {
          self.atLineStart = false
        }
      }
      return lines
    }
    var start = 0
    for line in nullLines {
      try self.reader?.feed(piece.getSlice(at: piece.readerIndex + start, length: line + 1 - start)!) {
        try self.accept($0)
      }
      try self.add(values: [.null], csvLine: [])
      start = line + 1
    }
    if start < piece.readableBytes {
      try self.reader?.feed(piece.getSlice(at: piece.readerIndex + start, length: piece.readableBytes - start)!) {
        try self.accept($0)
      }
    }
  }

  private func accept(_ record: CSVRecord) throws {
    switch self.output {
    case .csv:
      try self.add(values: [], csvLine: record.raw.readableBytesView)
    case .values:
      let quoted =
        record.fields.contains(where: \.isEmpty) ? Self.quotedFields(record.raw, delimiter: self.delimiter) : []
      let row = record.fields.enumerated().map { index, text -> FieldValue in
        // CSV writes NULL as an unquoted empty field and the empty string as "".
        if text.isEmpty && !(index < quoted.count && quoted[index]) { return .null }
        return PostgresWarehouse.queryValue(text, type: self.columns[index].type)
      }
      try self.add(values: row, csvLine: [])
    }
  }

  /// Adds one row: its CSV line (without the line end) or its values, as the output wants.
  private func add<Line: Collection<UInt8>>(values row: [FieldValue], csvLine: Line) throws {
    self.partRecords += 1
    switch self.output {
    case .csv:
      self.csvStarts.append(self.csvBytes.count)
      self.csvBytes.append(contentsOf: csvLine)
      self.csvBytes.append(UInt8(ascii: "\n"))
      if self.csvBytes.count >= Self.batchBytes { try self.flush() }
    case .values:
      self.values.append(row)
      if self.values.count >= Self.batchRows { try self.flush() }
    }
  }

  private func flush() throws {
    if !self.csvStarts.isEmpty {
      try self.sink.rows(.csv(bytes: self.csvBytes, starts: self.csvStarts))
      self.rows += Int64(self.csvStarts.count)
      self.csvBytes.removeAll(keepingCapacity: true)
      self.csvStarts.removeAll(keepingCapacity: true)
    }
    if !self.values.isEmpty {
      try self.sink.rows(.values(self.values))
      self.rows += Int64(self.values.count)
      self.values.removeAll(keepingCapacity: true)
    }
  }

  /// Which fields of a record `CSVRecordReader` accepted begin with a quote: an empty field is
  /// NULL only when it does not.
  static func quotedFields(_ raw: ByteBuffer, delimiter: UInt8) -> [Bool] {
    var quoted: [Bool] = []
    var atFieldStart = true
    var inQuotes = false
    for byte in raw.readableBytesView {
      if atFieldStart {
        quoted.append(byte == UInt8(ascii: "\""))
        atFieldStart = false
      }
      if byte == UInt8(ascii: "\"") {
        inQuotes.toggle()
      } else if byte == delimiter && !inQuotes {
        atFieldStart = true
      }
    }
    if atFieldStart { quoted.append(false) }
    return quoted
  }
}

/// Hands `RedshiftUnloadRows` from task to dispatch queue: every call runs under its lock, on
/// the export's own queue, one at a time.
final class RedshiftUnloadPump: Sendable {
  private let rows: Mutex<RedshiftUnloadRows>

  init(_ rows: sending RedshiftUnloadRows) {
    self.rows = Mutex(rows)
  }

  /// Runs `body` on the rows.
  func callAsFunction<T: Sendable>(_ body: (RedshiftUnloadRows) throws -> T) throws -> T {
    try self.rows.withLock { try body($0) }
  }
}
