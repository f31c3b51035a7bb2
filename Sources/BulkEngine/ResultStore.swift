internal import BulkCore
internal import Foundation
internal import NIOCore

#if canImport(Glibc)
internal import Glibc
#endif

/// A job's result files: per chunk and result set, the records already encoded in the job's
/// format (CSV rows, or one JSON object per line) and an index of where each record starts.
///
/// A chunk's files are written whole (temporary file, fsync, rename) and a `done` marker last, so
/// a crash never leaves a truncated file that could be served. Downloads join the chunk files in
/// chunk order and frame them as one document (a CSV header line, or a JSON array).
struct ResultStore: Sendable {
  let root: URL

  init(directory: String) throws {
    self.root = URL(fileURLWithPath: directory, isDirectory: true)
    try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
  }

  func folder(of jobID: String) -> URL {
    self.root.appendingPathComponent(jobID, isDirectory: true)
  }

  /// Records the result columns of a job (its upload's columns) before any chunk is written.
  func writeColumns(_ columns: [String], jobID: String) throws {
    let folder = self.folder(of: jobID)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try Self.writeWhole(try JSONEncoder().encode(columns), to: folder.appendingPathComponent("columns.json"))
  }

  /// The result columns of a job; empty when it never started.
  func columns(jobID: String) -> [String] {
    let url = self.folder(of: jobID).appendingPathComponent("columns.json")
    guard let data = try? Data(contentsOf: url) else { return [] }
    return (try? JSONDecoder().decode([String].self, from: data)) ?? []
  }

  /// Whether the chunk's results are complete on disk.
  func hasChunk(jobID: String, chunk: Int) -> Bool {
    FileManager.default.fileExists(atPath: self.folder(of: jobID).appendingPathComponent("\(chunk).done").path)
  }

  /// Writes one chunk's result sets, then its `done` marker. An empty set has no files: a done
  /// chunk without them has no records in that set.
  func writeChunk(jobID: String, chunk: Int, sets: [ResultSet: EncodedRecords]) throws {
    let folder = self.folder(of: jobID)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (set, records) in sets where records.count > 0 {
      try Self.writeWhole(
        Data(records.bytes.readableBytesView),
        to: folder.appendingPathComponent("\(chunk).\(set.rawValue)")
      )
      var index = Data(capacity: records.starts.count * 8)
      for start in records.starts {
        var little = UInt64(start).littleEndian
        withUnsafeBytes(of: &little) { index.append(contentsOf: $0) }
      }
      try Self.writeWhole(index, to: folder.appendingPathComponent("\(chunk).\(set.rawValue).index"))
    }
    try Self.writeWhole(Data(), to: folder.appendingPathComponent("\(chunk).done"))
    try SpoolFile.syncDirectory(folder)
  }

  /// Removes every result file of the job.
  func remove(jobID: String) throws {
    let folder = self.folder(of: jobID)
    if FileManager.default.fileExists(atPath: folder.path) {
      try FileManager.default.removeItem(at: folder)
    }
  }

  /// Streams a result set from `locator`, at most `maxRecords` records (0: all), framed by
  /// `framing` as one document, in pieces of about 1 MiB.
  ///
  /// - Returns: the next locator, empty at the end.
  func read(
    jobID: String,
    chunks: Int,
    set: ResultSet,
    locator: String,
    maxRecords: Int64,
    framing: ResultFraming,
    emit: @Sendable (ResultPiece) async throws -> Void
  ) async throws -> String {
    var position = try ResultLocator(locator, set: set)
    var remaining = maxRecords == 0 ? Int64.max : maxRecords
    var piece = Data(framing.opening)
    var pieceRecords: Int64 = 0
    var first = true

    while position.chunk < chunks && remaining > 0 {
      let folder = self.folder(of: jobID)
      let name = "\(position.chunk).\(set.rawValue)"
      guard self.hasChunk(jobID: jobID, chunk: position.chunk) else {
        throw BulkError(code: .internal, message: "the results of chunk \(position.chunk) are missing")
      }
      let starts = try Self.readIndex(folder.appendingPathComponent(name + ".index"))
      if position.record < starts.count {
        let take = Int(min(Int64(starts.count - position.record), remaining))
        let data = try Data(contentsOf: folder.appendingPathComponent(name), options: .alwaysMapped)
        var index = position.record
        while index < position.record + take {
          if framing.isConcatenation {
            // CSV records follow each other as stored: copy up to a piece's worth at once.
            var last = index
            let limit = Int(starts[index]) + (1 << 20) - piece.count
            while last + 1 < position.record + take && Int(starts[last + 1]) < limit { last += 1 }
            let end = last + 1 < starts.count ? Int(starts[last + 1]) : data.count
            piece.append(data[Int(starts[index]) ..< end])
            pieceRecords += Int64(last - index + 1)
            index = last + 1
          } else {
            // JSON objects are stored one per line and joined with commas.
            let recordEnd = index + 1 < starts.count ? Int(starts[index + 1]) : data.count
            if !first { piece.append(contentsOf: framing.separator) }
            piece.append(framing.trimming(data[Int(starts[index]) ..< recordEnd]))
            first = false
            pieceRecords += 1
            index += 1
          }
          if piece.count >= 1 << 20 {
            try await emit(ResultPiece(data: piece, recordCount: pieceRecords))
            piece = Data()
            pieceRecords = 0
          }
        }
        remaining -= Int64(take)
        position.record += take
      }
      if position.record >= starts.count {
        position = ResultLocator(set: set, chunk: position.chunk + 1, record: 0)
      }
    }
    piece.append(contentsOf: framing.closing)
    try await emit(ResultPiece(data: piece, recordCount: pieceRecords))
    return position.chunk < chunks && self.hasMore(jobID: jobID, from: position, chunks: chunks) ? position.token : ""
  }

  /// Whether any record is left at or after `position`.
  private func hasMore(jobID: String, from position: ResultLocator, chunks: Int) -> Bool {
    var chunk = position.chunk
    var record = position.record
    while chunk < chunks {
      let url = self.folder(of: jobID).appendingPathComponent("\(chunk).\(position.set.rawValue).index")
      let count = ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0) / 8
      if record < count { return true }
      chunk += 1
      record = 0
    }
    return false
  }

  /// The record offsets of a result file; none when the set had no records in the chunk.
  private static func readIndex(_ url: URL) throws -> [UInt64] {
    guard FileManager.default.fileExists(atPath: url.path) else { return [] }
    let data = try Data(contentsOf: url)
    return data.withUnsafeBytes { raw in
      (0 ..< (raw.count / 8)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
    }
  }

  /// Writes a file through a temporary name, fsynced, so it appears whole or not at all.
  static func writeWhole(_ data: Data, to url: URL) throws {
    let temporary = url.appendingPathExtension("tmp")
    try SpoolFile.writeDurably(data, to: temporary)
    guard rename(temporary.path, url.path) == 0 else {
      throw SpoolFileError(operation: "rename", path: url.path, errno: errno)
    }
  }
}

/// Records encoded for a result file, and where each starts.
struct EncodedRecords {
  var bytes = ByteBuffer()
  var starts: [Int] = []

  /// Appends one record, written by `write`.
  mutating func append(_ write: (inout ByteBuffer) -> Void) {
    self.starts.append(self.bytes.writerIndex)
    write(&self.bytes)
  }

  var count: Int { self.starts.count }
}

/// How a result document is framed around its records.
struct ResultFraming: Sendable {
  /// Bytes before the first record: a CSV header line, or `[`.
  var opening: [UInt8]
  /// Bytes between two records: nothing for CSV, a comma for JSON.
  var separator: [UInt8]
  /// Bytes after the last record: nothing for CSV, `]` for JSON.
  var closing: [UInt8]
  /// Whether stored records end in a line feed that the document does not want (JSON).
  var trimsLineEnd: Bool

  /// Whether records are joined as stored, with nothing between or trimmed.
  var isConcatenation: Bool { self.separator.isEmpty && !self.trimsLineEnd }

  func trimming(_ record: Data) -> Data {
    guard self.trimsLineEnd, record.last == UInt8(ascii: "\n") else { return record }
    return record.dropLast()
  }
}

/// A position in a result set: the chunk and the record within it. Opaque to clients.
struct ResultLocator: Hashable {
  var set: ResultSet
  var chunk: Int
  var record: Int

  init(set: ResultSet, chunk: Int, record: Int) {
    self.set = set
    self.chunk = chunk
    self.record = record
  }

  /// The position a client's locator names; the start for an empty one.
  init(_ token: String, set: ResultSet) throws(BulkError) {
    guard !token.isEmpty else {
      self.init(set: set, chunk: 0, record: 0)
      return
    }
    guard let text = OpaqueToken.decode(token) else {
      throw .invalidArgument("locator is not one this server issued")
    }
    let parts = text.split(separator: ":")
    guard parts.count == 4, parts[0] == "r1", let chunk = Int(parts[2]), let record = Int(parts[3]), chunk >= 0,
      record >= 0
    else {
      throw .invalidArgument("locator is not one this server issued")
    }
    guard parts[1] == set.rawValue else {
      throw .invalidArgument("locator belongs to the \(parts[1]) result set, not to \(set.rawValue)")
    }
    self.init(set: set, chunk: chunk, record: record)
  }

  var token: String {
    OpaqueToken.encode("r1:\(self.set.rawValue):\(self.chunk):\(self.record)")
  }
}
