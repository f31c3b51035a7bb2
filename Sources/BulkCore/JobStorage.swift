package import Foundation

/// Where jobs' uploads and results are kept: named objects, grouped by job and area, that are
/// either grown by appends (an upload as it arrives) or written whole (result chunks, the columns
/// of an upload, checker checkpoints) and never changed after.
///
/// The shape is an object store's: an appendable object is a multipart upload whose appends are
/// durable once `sync` returns (one part each) and which `seal` completes; a whole-object write
/// appears whole or not at all (PutObject); reads take a byte range (ranged GetObject); a job's
/// objects can be listed and deleted together (ListObjectsV2, DeleteObjects). The embedded
/// implementation is `FileJobStorage`, files in the data directory.
///
/// Calls block until they are done (an fsync, a round trip): callers make them on queues of
/// their own, never while holding a lock others wait for.
package protocol JobStorage: Sendable {
  /// Opens the appendable object `key`, created empty when missing; its size is what was made
  /// durable before (a partial write a crash left behind may follow, which the caller checks).
  func openAppendable(_ key: StorageKey) throws -> any AppendableObject

  /// Replaces the object `key` with `bytes`, durably, so that it is read whole or not at all.
  func write(_ bytes: some ContiguousBytes, to key: StorageKey) throws

  /// The bytes of the object `key` in `range` (all of it when `nil`), fewer only where the object
  /// ends; `nil` when there is no such object.
  func read(_ key: StorageKey, range: Range<Int64>?) throws -> Data?

  /// The size of the object `key`; `nil` when there is no such object.
  func size(of key: StorageKey) throws -> Int64?

  /// The job's objects in `area`, with their sizes, in no particular order.
  func list(jobID: String, area: StorageArea) throws -> [StoredObject]

  /// Deletes the object `key`; nothing happens when there is none.
  func delete(_ key: StorageKey) throws

  /// Deletes every object of the job in `area`.
  func remove(jobID: String, area: StorageArea) throws

  /// The bytes that may still be written before the storage is full; `Int64.max` for a store
  /// without such a limit. The storage ledger keeps a floor under it.
  func availableBytes() throws -> Int64
}

/// An object that grows by appends, used on one queue at a time.
package protocol AppendableObject: AnyObject {
  /// The bytes appended so far, durable or not.
  var size: Int64 { get }

  /// Appends `bytes` at the end. On failure nothing of them is kept.
  func append(_ bytes: some ContiguousBytes) throws

  /// Makes everything appended durable; the stored size reported after it survives a crash.
  func sync() throws

  /// Completes the object after a `sync`: no more appends. It can be read with
  /// `JobStorage.read` from then on (with the file system, already after each `sync`).
  func seal() throws

  /// Up to `maxLength` bytes from `position`; fewer only at the end.
  func read(at position: Int64, maxLength: Int) throws -> Data

  /// Cuts the object back to `size` bytes, durably: for a partial write a crash left behind.
  func truncate(to size: Int64) throws
}

/// The kinds of objects a job keeps.
package enum StorageArea: String, Hashable, Sendable, CaseIterable {
  /// The job's upload as it arrives, and what describes it (its columns).
  case upload
  /// The upload checker's saved state: one object per job, counted toward no tenant's bytes.
  case checkpoint
  /// The job's result chunks and what describes them.
  case results
}

/// The name of one object of a job.
package struct StorageKey: Hashable, Sendable, CustomStringConvertible {
  package var jobID: String
  package var area: StorageArea
  /// The object's name within the job's area: letters, digits, `.`, `-` and `_`.
  package var name: String

  package init(jobID: String, area: StorageArea, name: String) {
    self.jobID = jobID
    self.area = area
    self.name = name
  }

  package var description: String { "\(self.area.rawValue)/\(self.jobID)/\(self.name)" }

  /// The job's one checkpoint object.
  package static func checkpoint(of jobID: String) -> StorageKey {
    StorageKey(jobID: jobID, area: .checkpoint, name: "checkpoint")
  }
}

/// An object as a listing reports it.
package struct StoredObject: Hashable, Sendable {
  package var key: StorageKey
  package var size: Int64

  package init(key: StorageKey, size: Int64) {
    self.key = key
    self.size = size
  }
}
