package import BulkCore
package import BulkS3
package import Foundation
internal import NIOCore
internal import Synchronization

/// Job storage in an S3 bucket (or an S3-compatible store), so that any instance sharing the
/// bucket can continue an upload, run a job's chunks or serve its results: the object `name` of a
/// job's `area` is `<prefix>/<area>/<job>/<name>`.
///
/// Whole objects (result chunks, columns, checkpoints) are one PutObject each, read with ranged
/// GetObject. An appendable object (an upload as it arrives) is kept as segments,
/// `<prefix>/<area>/<job>/<name>/<offset>` with the offset in 20 digits, one PutObject per `sync`
/// holding the bytes appended since the previous one: a `sync` returns once S3 has them, so an
/// acknowledged offset is durable, and an instance that opens the object later (this one after a
/// restart, or another) recovers its size by listing the segments and chaining them from offset 0.
/// A multipart upload would not do: its parts are at least 5 MiB (a sync holds what arrived since
/// the last acknowledgement, often less) and none of it can be read or sized until it is completed.
///
/// Segments that do not chain from 0 (what a truncate cut short by a crash leaves) are deleted
/// when the object is opened, before anything is appended after the chain's end. Two instances
/// must not append to the same object at once; the catalog's leases see to that.
package struct S3JobStorage: JobStorage {
  let client: S3Client
  let bucket: String
  /// The segments of the appendable objects read lately, so that reading one piece after another
  /// costs one GET each rather than a failed GET, a LIST and a GET.
  private let chains = ChainCache()
  let prefix: String

  /// Storage in `bucket` under `prefix` (no leading or trailing `/`; empty for the bucket's root).
  package init(client: S3Client, bucket: String, prefix: String) {
    self.client = client
    self.bucket = bucket
    self.prefix = prefix.split(separator: "/").joined(separator: "/")
  }

  package func openAppendable(_ key: StorageKey) throws -> any AppendableObject {
    let listing = try self.segments(of: key)
    let chain = SegmentChain(listing.map(\.segment))
    let stale = listing.filter { !chain.contains($0.segment) }.map(\.key)
    if !stale.isEmpty {
      try self.deleteKeys(stale)
    }
    return S3AppendableObject(storage: self, key: key, segments: chain.segments)
  }

  package func write(_ bytes: some ContiguousBytes, to key: StorageKey) throws {
    let body = bytes.withUnsafeBytes { ByteBuffer(bytes: $0) }
    let (client, bucket, objectKey) = (self.client, self.bucket, self.objectKey(key))
    try blocking { _ = try await client.putObject(bucket: bucket, key: objectKey, body: body) }
  }

  package func read(_ key: StorageKey, range: Range<Int64>?) throws -> Data? {
    if let range, range.isEmpty {
      return try self.size(of: key) == nil ? nil : Data()
    }
    // A segment's key names its offset, so its bytes stay the object's bytes there: a listing
    // seen before serves any range it covers. A segment since cut short or removed (a truncate)
    // fails the read, and the listing is then asked again.
    if let range, let cached = self.chains.chain(of: key), range.upperBound <= cached.size {
      do {
        return try self.read(segments: cached.segments, of: key, range: range)
      } catch {
        self.chains.forget(key)
      }
    }
    let (client, bucket, objectKey) = (self.client, self.bucket, self.objectKey(key))
    let whole: Data?? = try blocking {
      do {
        let object = try await client.getObject(
          bucket: bucket,
          key: objectKey,
          range: range.map { Int($0.lowerBound) ... Int($0.upperBound - 1) }
        )
        return Data(object.body.readableBytesView)
      } catch let error as S3Error where error.status == 404 {
        return Data??.none
      } catch let error as S3Error where error.status == 416 {
        // The range starts at or after the object's end.
        return Data()
      }
    }
    if let whole { return whole }
    let chain = SegmentChain(try self.segments(of: key).map(\.segment))
    guard !chain.segments.isEmpty else { return nil }
    self.chains.remember(chain, of: key)
    let wanted = range ?? 0 ..< chain.size
    return try self.read(
      segments: chain.segments,
      of: key,
      range: wanted.clamped(to: 0 ..< max(chain.size, wanted.lowerBound))
    )
  }

  package func size(of key: StorageKey) throws -> Int64? {
    let (client, bucket, objectKey) = (self.client, self.bucket, self.objectKey(key))
    let whole: Int64? = try blocking {
      do {
        return Int64(try await client.headObject(bucket: bucket, key: objectKey).contentLength)
      } catch let error as S3Error where error.status == 404 {
        return nil
      }
    }
    if let whole { return whole }
    let chain = SegmentChain(try self.segments(of: key).map(\.segment))
    guard !chain.segments.isEmpty else { return nil }
    self.chains.remember(chain, of: key)
    return chain.size
  }

  package func list(jobID: String, area: StorageArea) throws -> [StoredObject] {
    let folder = self.folder(jobID: jobID, area: area)
    let (client, bucket) = (self.client, self.bucket)
    let listing = try blocking { try await client.listObjects(bucket: bucket, prefix: folder) }
    var whole: [String: Int64] = [:]
    var segments: [String: [Segment]] = [:]
    for object in listing {
      let relative = object.key.dropFirst(folder.count)
      let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
      if parts.count == 1 {
        whole[String(relative)] = Int64(object.size)
      } else if parts.count == 2, let offset = Int64(parts[1]) {
        segments[String(parts[0]), default: []].append(Segment(offset: offset, length: Int64(object.size)))
      }
    }
    for (name, pieces) in segments where whole[name] == nil {
      whole[name] = SegmentChain(pieces).size
    }
    return whole.map { StoredObject(key: StorageKey(jobID: jobID, area: area, name: $0.key), size: $0.value) }
  }

  package func delete(_ key: StorageKey) throws {
    try self.deleteKeys([self.objectKey(key)] + self.segments(of: key).map(\.key))
  }

  package func remove(jobID: String, area: StorageArea) throws {
    let folder = self.folder(jobID: jobID, area: area)
    let (client, bucket) = (self.client, self.bucket)
    let listing = try blocking { try await client.listObjects(bucket: bucket, prefix: folder) }
    try self.deleteKeys(listing.map(\.key))
  }

  /// `Int64.max`: a bucket has no capacity to run out of, so only the tenants' quotas (which the
  /// storage ledger also enforces) limit what is stored.
  package func availableBytes() throws -> Int64 {
    Int64.max
  }

  // MARK: - Keys and segments

  /// `<prefix>/<area>/<job>/`, the folder of a job's objects in an area.
  func folder(jobID: String, area: StorageArea) -> String {
    (self.prefix.isEmpty ? "" : self.prefix + "/") + "\(area.rawValue)/\(jobID)/"
  }

  /// The key of a whole object, and the folder of an appendable object's segments.
  func objectKey(_ key: StorageKey) -> String {
    self.folder(jobID: key.jobID, area: key.area) + key.name
  }

  /// The key of the segment that starts at `offset`: 20 digits, so that keys sort by offset.
  package func segmentKey(_ key: StorageKey, offset: Int64) -> String {
    let digits = String(offset)
    return self.objectKey(key) + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
  }

  /// Every segment stored for the object `key`, chained or not, with its S3 key.
  func segments(of key: StorageKey) throws -> [(key: String, segment: Segment)] {
    let folder = self.objectKey(key) + "/"
    let (client, bucket) = (self.client, self.bucket)
    let listing = try blocking { try await client.listObjects(bucket: bucket, prefix: folder) }
    return listing.compactMap { object in
      Int64(object.key.dropFirst(folder.count)).map { (object.key, Segment(offset: $0, length: Int64(object.size))) }
    }
  }

  /// The bytes of `range` from chained `segments`, one ranged GET per segment it touches.
  func read(segments: [Segment], of key: StorageKey, range: Range<Int64>) throws -> Data {
    var data = Data()
    for segment in segments where segment.offset < range.upperBound && segment.end > range.lowerBound {
      let lower = max(range.lowerBound, segment.offset) - segment.offset
      let upper = min(range.upperBound, segment.end) - segment.offset
      let (client, bucket, segmentKey) = (self.client, self.bucket, self.segmentKey(key, offset: segment.offset))
      let body = try blocking {
        try await client.getObject(bucket: bucket, key: segmentKey, range: Int(lower) ... Int(upper - 1)).body
      }
      guard body.readableBytes == Int(upper - lower) else {
        throw S3JobStorageError.segmentChanged(
          key: segmentKey,
          expected: upper - lower,
          received: Int64(body.readableBytes)
        )
      }
      data.append(contentsOf: body.readableBytesView)
    }
    return data
  }

  /// Deletes `keys` with DeleteObjects; fails naming the first key S3 kept.
  func deleteKeys(_ keys: [String]) throws {
    guard !keys.isEmpty else { return }
    let (client, bucket) = (self.client, self.bucket)
    let failures = try blocking { try await client.deleteObjects(bucket: bucket, keys: keys) }
    if let failure = failures.first {
      throw S3JobStorageError.deleteFailed(
        key: failure.key,
        code: failure.code,
        message: failure.message,
        count: failures.count
      )
    }
  }
}

/// A piece of an appendable object: the bytes at `offset ..< offset + length`.
struct Segment: Hashable, Sendable {
  var offset: Int64
  var length: Int64
  var end: Int64 { self.offset + self.length }
}

/// The segments that make up an object: chained from offset 0, each starting where the previous
/// ends; what does not chain (left by a crash mid-truncate) is not part of it.
struct SegmentChain: Sendable {
  var segments: [Segment] = []

  init(_ stored: [Segment]) {
    let byOffset = Dictionary(stored.map { ($0.offset, $0) }, uniquingKeysWith: { first, _ in first })
    var end: Int64 = 0
    while let next = byOffset[end], next.length > 0 {
      self.segments.append(next)
      end = next.end
    }
  }

  var size: Int64 { self.segments.last?.end ?? 0 }

  func contains(_ segment: Segment) -> Bool {
    self.segments.contains(segment)
  }
}

/// A failure of `S3JobStorage` that is not an answer of S3.
package enum S3JobStorageError: Error, CustomStringConvertible, Sendable {
  /// DeleteObjects kept `count` keys, the first being `key`.
  case deleteFailed(key: String, code: String, message: String, count: Int)
  /// A segment answered with fewer or more bytes than its listed size: another writer changed it.
  case segmentChanged(key: String, expected: Int64, received: Int64)
  /// An append or truncate after `seal`.
  case sealed(key: String)
  /// A truncate to more than the object's size.
  case truncateBeyondEnd(key: String, size: Int64, requested: Int64)

  package var description: String {
    switch self {
    case .deleteFailed(let key, let code, let message, let count):
      "S3 storage: DeleteObjects kept \(count) object(s), first \(key): \(code) \(message)"
    case .segmentChanged(let key, let expected, let received):
      "S3 storage: segment \(key) answered \(received) bytes where \(expected) were expected; another writer changed it"
    case .sealed(let key):
      "S3 storage: \(key) is sealed and takes no more appends or truncates"
    case .truncateBeyondEnd(let key, let size, let requested):
      "S3 storage: truncate of \(key) to \(requested) bytes is beyond its size, \(size) bytes"
    }
  }
}

/// The segment chains of the appendable objects read lately, a bounded number of them.
final class ChainCache: Sendable {
  private let chains = Mutex<[StorageKey: SegmentChain]>([:])
  /// Objects remembered at most; past it the cache starts again (uploads are read one after
  /// another, each through once).
  private static let limit = 64

  func chain(of key: StorageKey) -> SegmentChain? {
    self.chains.withLock { $0[key] }
  }

  func remember(_ chain: SegmentChain, of key: StorageKey) {
    self.chains.withLock { chains in
      if chains.count >= Self.limit && chains[key] == nil { chains.removeAll() }
      chains[key] = chain
    }
  }

  func forget(_ key: StorageKey) {
    self.chains.withLock { _ = $0.removeValue(forKey: key) }
  }
}
