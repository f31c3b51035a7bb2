package import BulkCore
internal import BulkFormats
package import BulkS3
package import Foundation
internal import NIOCore

/// One chunk's records as staged in S3: gzip CSV objects and the manifest that lists them.
package struct RedshiftStagedChunk: Sendable {
  /// One object: its key, and the first line of each of its records.
  package struct Object: Sendable {
    /// The object's key.
    package var key: String
    /// The position in the chunk of the object's first record.
    package var firstPosition: Int
    /// The 1-based line where each of the object's records starts (a quoted field may span
    /// lines).
    package var lineStarts: [Int64]
  }

  /// The folder (a key prefix ending in `/`) of this attempt at the chunk: its own, so that the
  /// load errors read back are this attempt's.
  package var folder: String
  /// The objects, in record order.
  package var objects: [Object]
  /// The manifest's key.
  package var manifestKey: String

  /// The chunk position of the record at `line` of the object at `url`, `nil` for a line of
  /// no object here.
  func position(objectURL url: String, line: Int64, bucket: String) -> Int? {
    guard let object = self.objects.first(where: { "s3://\(bucket)/\($0.key)" == url }) else { return nil }
    // The last record starting at or before the line.
    var low = 0
    var high = object.lineStarts.count
    while low < high {
      let middle = (low + high) / 2
      if object.lineStarts[middle] <= line { low = middle + 1 } else { high = middle }
    }
    return low == 0 ? nil : object.firstPosition + low - 1
  }
}

/// Writes a chunk's records to S3 as `COPY` reads them: CSV (the record's position in the
/// chunk, then its values; `\N` unquoted for `NULL`, text always quoted), gzip, split into as
/// many objects as the cluster has slices when each keeps `RedshiftStaging.minimumObjectBytes`
/// of CSV (fewer otherwise), uploaded in parallel, and a manifest naming each as mandatory.
package struct RedshiftChunkStager: Sendable {
  let staging: RedshiftStaging
  let s3: S3Client

  /// A stager writing to `staging` through `s3`.
  package init(staging: RedshiftStaging, s3: S3Client) {
    self.staging = staging
    self.s3 = s3
  }

  /// Stages `work`'s records under the job's `load/` folder.
  package func stage(_ work: ChunkWork, tenant: Tenant, slices: Int) async throws -> RedshiftStagedChunk {
    let attempt = String(UInt32.random(in: 0 ... .max), radix: 16)
    let folder = self.staging.jobFolder(tenant: tenant, jobID: work.jobID) + "load/chunk-\(work.chunk)-\(attempt)/"
    let csv = Self.csv(work.records)
    let count = Self.objectCount(bytes: csv.bytes.count, slices: slices, minimum: self.staging.minimumObjectBytes)
    // Object j holds the records that start in the j-th of `count` equal byte ranges.
    var bounds: [Int] = [0]
    for index in 1 ..< count {
      let target = csv.bytes.count * index / count
      var low = bounds.last!
      var high = csv.recordStarts.count
      while low < high {
        let middle = (low + high) / 2
        if csv.recordStarts[middle] < target { low = middle + 1 } else { high = middle }
      }
      if low > bounds.last! { bounds.append(low) }
    }
    bounds.append(csv.recordStarts.count)
    var objects: [RedshiftStagedChunk.Object] = []
    for (index, (first, end)) in zip(bounds, bounds.dropFirst()).enumerated() where end > first {
      let base = csv.lineStarts[first] - 1
      objects.append(
        RedshiftStagedChunk.Object(
          key: folder + String(format: "part-%04d.csv.gz", index),
          firstPosition: first,
          lineStarts: csv.lineStarts[first ..< end].map { $0 - base }
        )
      )
    }
    let staged = RedshiftStagedChunk(folder: folder, objects: objects, manifestKey: folder + "manifest")
    let (bucket, s3) = (self.staging.bucket, self.s3)
    let compressed = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
      for (index, object) in objects.enumerated() {
        let start = csv.recordStarts[object.firstPosition]
        let end = object.firstPosition + object.lineStarts.count
        let stop = end < csv.recordStarts.count ? csv.recordStarts[end] : csv.bytes.count
        let slice = Array(csv.bytes[start ..< stop])
        group.addTask {
          let gzip = try GzipDeflater.compress(slice, level: 1)
          try await s3.putObject(bucket: bucket, key: object.key, body: ByteBuffer(bytes: gzip), contentType: "application/gzip")
          return (index, gzip.count)
        }
      }
      var sizes = Array(repeating: 0, count: objects.count)
      for try await (index, size) in group { sizes[index] = size }
      return sizes
    }
    let entries = zip(objects, compressed).map { object, size in
      #"{"url":"\#(self.staging.url(object.key))","mandatory":true,"meta":{"content_length":\#(size)}}"#
    }
    let manifest = #"{"entries":[\#(entries.joined(separator: ","))]}"#
    try await s3.putObject(bucket: bucket, key: staged.manifestKey, body: ByteBuffer(string: manifest), contentType: "application/json")
    return staged
  }

  /// Deletes the chunk's objects and manifest; a failure is left to the job's deletion, which
  /// removes its whole folder.
  package func remove(_ staged: RedshiftStagedChunk) async {
    let keys = staged.objects.map(\.key) + [staged.manifestKey]
    _ = try? await self.s3.deleteObjects(bucket: self.staging.bucket, keys: keys)
  }

  /// How many objects `bytes` of CSV become: one per slice when each keeps `minimum` bytes (a
  /// multiple of the slices past 4 GiB of CSV per object, about 1 GB of gzip, Redshift's
  /// largest recommended object), else as many as keep `minimum`, at least one.
  package static func objectCount(bytes: Int, slices: Int, minimum: Int) -> Int {
    guard bytes >= slices * minimum else { return max(1, bytes / minimum) }
    let largest = 4 << 30
    return slices * max(1, (bytes + slices * largest - 1) / (slices * largest))
  }

  /// The records as CSV lines, with where each starts: its byte offset and its 1-based line.
  package static func csv(_ records: [ChunkRecord]) -> (bytes: [UInt8], recordStarts: [Int], lineStarts: [Int64]) {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(records.count * 64)
    var recordStarts: [Int] = []
    var lineStarts: [Int64] = []
    recordStarts.reserveCapacity(records.count)
    lineStarts.reserveCapacity(records.count)
    var line: Int64 = 1
    for (position, record) in records.enumerated() {
      recordStarts.append(bytes.count)
      lineStarts.append(line)
      let start = bytes.count
      Self.appendDigits(Int64(position), to: &bytes)
      for value in record.values {
        bytes.append(UInt8(ascii: ","))
        Self.append(value, to: &bytes)
      }
      bytes.append(UInt8(ascii: "\n"))
      line += Int64(bytes[start...].count { $0 == UInt8(ascii: "\n") })
    }
    return (bytes, recordStarts, lineStarts)
  }

  /// One field: `\N` for `NULL`; text quoted, quotes doubled; numbers and booleans as they
  /// read; bytes as hex (what a `VARBYTE` column reads); timestamps as
  /// `yyyy-MM-dd HH:mm:ss.SSSSSS` in UTC.
  static func append(_ value: FieldValue, to bytes: inout [UInt8]) {
    switch value {
    case .null:
      bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
    case .text(let text):
      bytes.append(UInt8(ascii: "\""))
      for byte in text.utf8 {
        if byte == UInt8(ascii: "\"") { bytes.append(byte) }
        bytes.append(byte)
      }
      bytes.append(UInt8(ascii: "\""))
    case .number(let text):
      bytes.append(contentsOf: text.utf8)
    case .integer(let integer):
      Self.appendDigits(integer, to: &bytes)
    case .double(let double):
      bytes.append(contentsOf: "\(double)".utf8)
    case .bool(let bool):
      bytes.append(contentsOf: (bool ? "true" : "false").utf8)
    case .bytes(let data):
      Hex.append(data, to: &bytes)
    case .timestamp(let date):
      Self.appendTimestamp(date, to: &bytes)
    }
  }

  /// `value` in decimal.
  package static func appendDigits(_ value: Int64, to bytes: inout [UInt8]) {
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    var magnitude = value.magnitude
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
      (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
      repeat {
        buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
        magnitude /= 10
        count += 1
      } while magnitude > 0
      bytes.append(contentsOf: buffer[(20 - count)...])
    }
  }

  /// `date` as `yyyy-MM-dd HH:mm:ss.SSSSSS` in UTC, what Redshift's `TIMEFORMAT 'auto'` reads,
  /// without a formatter per value (the civil date from days since the epoch, as in Howard
  /// Hinnant's `civil_from_days`).
  package static func appendTimestamp(_ date: Date, to bytes: inout [UInt8]) {
    let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    let (seconds, fraction) = microseconds.quotientAndRemainder(dividingBy: 1_000_000)
    let adjustedSeconds = fraction < 0 ? seconds - 1 : seconds
    let micros = fraction < 0 ? fraction + 1_000_000 : fraction
    let days = adjustedSeconds >= 0 ? adjustedSeconds / 86_400 : (adjustedSeconds - 86_399) / 86_400
    let secondOfDay = adjustedSeconds - days * 86_400
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ value: Int64) {
      bytes.append(UInt8(ascii: "0") + UInt8(value / 10))
      bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
    two(year / 100)
    two(year % 100)
    bytes.append(UInt8(ascii: "-"))
    two(month)
    bytes.append(UInt8(ascii: "-"))
    two(day)
    bytes.append(UInt8(ascii: " "))
    two(secondOfDay / 3600)
    bytes.append(UInt8(ascii: ":"))
    two(secondOfDay / 60 % 60)
    bytes.append(UInt8(ascii: ":"))
    two(secondOfDay % 60)
    bytes.append(UInt8(ascii: "."))
    two(micros / 10_000)
    two(micros / 100 % 100)
    two(micros % 100)
  }
}
