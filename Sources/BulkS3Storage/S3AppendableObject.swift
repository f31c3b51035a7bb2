internal import BulkCore
internal import BulkS3
internal import Foundation
internal import NIOCore

/// An appendable object of `S3JobStorage`: the chained segments already in S3, and the bytes
/// appended since the last `sync`, kept in memory until it stores them as the next segment.
final class S3AppendableObject: AppendableObject {
  private let storage: S3JobStorage
  private let key: StorageKey
  /// The segments in S3, chained from offset 0.
  private var segments: [Segment]
  /// The bytes appended after the last segment.
  private var pending = Data()
  private var sealed = false

  init(storage: S3JobStorage, key: StorageKey, segments: [Segment]) {
    self.storage = storage
    self.key = key
    self.segments = segments
  }

  /// The size S3 has, without the bytes not yet synced.
  private var durableSize: Int64 { self.segments.last?.end ?? 0 }

  var size: Int64 { self.durableSize + Int64(self.pending.count) }

  func append(_ bytes: some ContiguousBytes) throws {
    guard !self.sealed else { throw S3JobStorageError.sealed(key: self.storage.objectKey(self.key)) }
    bytes.withUnsafeBytes { self.pending.append(contentsOf: $0) }
  }

  /// Stores the bytes appended since the last sync as one segment (PutObject), named by the
  /// offset they start at. On failure they stay pending, and the next `sync` stores them again
  /// under the same name, replacing whatever a failed attempt may have left there.
  func sync() throws {
    guard !self.pending.isEmpty else { return }
    let offset = self.durableSize
    let body = ByteBuffer(bytes: self.pending)
    let (client, bucket, segmentKey) = (
      self.storage.client, self.storage.bucket, self.storage.segmentKey(self.key, offset: offset)
    )
    try blocking { _ = try await client.putObject(bucket: bucket, key: segmentKey, body: body) }
    self.segments.append(Segment(offset: offset, length: Int64(self.pending.count)))
    self.pending = Data()
  }

  /// Syncs what is pending and takes no more appends; the segments are read as they are.
  func seal() throws {
    try self.sync()
    self.sealed = true
  }

  func read(at position: Int64, maxLength: Int) throws -> Data {
    let range = position ..< min(position + Int64(maxLength), self.size)
    guard !range.isEmpty else { return Data() }
    var data = try self.storage.read(
      segments: self.segments,
      of: self.key,
      range: range.clamped(to: 0 ..< self.durableSize)
    )
    if range.upperBound > self.durableSize {
      let start = Int(max(range.lowerBound, self.durableSize) - self.durableSize)
      let end = Int(range.upperBound - self.durableSize)
      data.append(self.pending[self.pending.startIndex + start ..< self.pending.startIndex + end])
    }
    return data
  }

  /// Cuts the object back to `size` bytes: the pending bytes past it are dropped, the segments
  /// wholly past it deleted, and the segment it falls inside stored again, shortened. A crash
  /// part-way leaves segments that still chain to a prefix of the old bytes, and unchained ones
  /// that the next `openAppendable` deletes.
  func truncate(to size: Int64) throws {
    guard !self.sealed else { throw S3JobStorageError.sealed(key: self.storage.objectKey(self.key)) }
    guard size <= self.size else {
      throw S3JobStorageError.truncateBeyondEnd(key: self.storage.objectKey(self.key), size: self.size, requested: size)
    }
    if size >= self.durableSize {
      self.pending = self.pending.prefix(Int(size - self.durableSize))
      return
    }
    self.pending = Data()
    // Every stored segment past the cut, chained or left over: none may chain again later.
    let past = try self.storage.segments(of: self.key).filter { $0.segment.offset >= size }.map(\.key)
    try self.storage.deleteKeys(past)
    self.segments.removeAll { $0.offset >= size }
    if let last = self.segments.last, last.end > size {
      let kept = try self.storage.read(segments: [last], of: self.key, range: last.offset ..< size)
      let body = ByteBuffer(bytes: kept)
      let (client, bucket, segmentKey) = (
        self.storage.client, self.storage.bucket, self.storage.segmentKey(self.key, offset: last.offset)
      )
      try blocking { _ = try await client.putObject(bucket: bucket, key: segmentKey, body: body) }
      self.segments[self.segments.count - 1].length = size - last.offset
    }
  }
}
