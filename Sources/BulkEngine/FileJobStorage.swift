package import BulkCore
package import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// Job storage on the local file system, the embedded default: the data directory's
/// `staging/<job>/<name>` for uploads, `staging/.checkpoints/<job>.checkpoint` for checker checkpoints,
/// `results/<job>/<name>` for results. Files are private to the server's user (mode 0600).
///
/// An append is durable after `sync` (fsync); a whole-object write goes through a temporary file,
/// fsynced, renamed over the object; each new folder, file or rename is made durable by syncing
/// the folder that holds it (`DirectorySync`) — except a checkpoint's rename: an older checkpoint,
/// or none, is still right, so a crash before its folder is synced costs a longer replay only.
package struct FileJobStorage: JobStorage {
  private let staging: URL
  private let checkpoints: URL
  private let results: URL
  private let directorySync: DirectorySync

  /// Storage under `stagingDirectory` and `resultsDirectory`, created if missing.
  ///
  /// - Parameter directorySync: makes new folders and files durable.
  package init(stagingDirectory: String, resultsDirectory: String, directorySync: DirectorySync = .fsync) throws {
    self.staging = URL(fileURLWithPath: stagingDirectory, isDirectory: true)
    self.checkpoints = self.staging.appendingPathComponent(".checkpoints", isDirectory: true)
    self.results = URL(fileURLWithPath: resultsDirectory, isDirectory: true)
    self.directorySync = directorySync
    try directorySync.createFolder(self.staging)
    try directorySync.createFolder(self.checkpoints)
    try directorySync.createFolder(self.results)
  }

  package func openAppendable(_ key: StorageKey) throws -> any AppendableObject {
    let url = self.file(key)
    let folder = url.deletingLastPathComponent()
    try self.directorySync.createFolder(folder)
    let file = try SpoolFile(path: url.path, directAppends: true)
    try self.directorySync(folder)
    return file
  }

  package func write(_ bytes: some ContiguousBytes, to key: StorageKey) throws {
    let url = self.file(key)
    let folder = url.deletingLastPathComponent()
    try self.directorySync.createFolder(folder)
    let temporary = url.appendingPathExtension("tmp")
    try SpoolFile.writeDurably(bytes, to: temporary)
    guard rename(temporary.path, url.path) == 0 else {
      throw SpoolFileError(operation: "rename", path: url.path, errno: errno)
    }
    if key.area != .checkpoint {
      try self.directorySync(folder)
    }
  }

  package func read(_ key: StorageKey, range: Range<Int64>?) throws -> Data? {
    let url = self.file(key)
    guard let range else {
      do {
        // Mapped, not copied: downloads read result chunks of several MiB.
        return try Data(contentsOf: url, options: .alwaysMapped)
      } catch CocoaError.fileReadNoSuchFile {
        return nil
      }
    }
    let file: SpoolFile
    do {
      file = try SpoolFile(path: url.path, readOnly: true)
    } catch let error as SpoolFileError where error.errno == ENOENT {
      return nil
    }
    return try file.read(at: range.lowerBound, maxLength: Int(range.upperBound - range.lowerBound))
  }

  package func size(of key: StorageKey) throws -> Int64? {
    try Self.regularFileSize(self.file(key).path)
  }

  /// The size of the regular file at `path`; `nil` when there is none.
  private static func regularFileSize(_ path: String) throws -> Int64? {
    var info = stat()
    guard stat(path, &info) == 0 else {
      guard errno == ENOENT || errno == ENOTDIR else {
        throw SpoolFileError(operation: "stat", path: path, errno: errno)
      }
      return nil
    }
    return info.st_mode & S_IFMT == S_IFREG ? Int64(info.st_size) : nil
  }

  package func list(jobID: String, area: StorageArea) throws -> [StoredObject] {
    switch area {
    case .checkpoint:
      let key = StorageKey.checkpoint(of: jobID)
      return try self.size(of: key).map { [StoredObject(key: key, size: $0)] } ?? []
    case .upload, .results:
      let folder = self.folder(jobID: jobID, area: area)
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
      return try names.compactMap { name in
        let key = StorageKey(jobID: jobID, area: area, name: name)
        return try self.size(of: key).map { StoredObject(key: key, size: $0) }
      }
    }
  }

  package func delete(_ key: StorageKey) throws {
    let url = self.file(key)
    guard unlink(url.path) == 0 || errno == ENOENT else {
      throw SpoolFileError(operation: "unlink", path: url.path, errno: errno)
    }
  }

  package func remove(jobID: String, area: StorageArea) throws {
    switch area {
    case .checkpoint:
      try self.delete(StorageKey.checkpoint(of: jobID))
    case .upload, .results:
      let folder = self.folder(jobID: jobID, area: area)
      if FileManager.default.fileExists(atPath: folder.path) {
        try FileManager.default.removeItem(at: folder)
      }
    }
  }

  package func availableBytes() throws -> Int64 {
    try StorageLedger.availableBytes(at: self.staging.path)
  }

  private func folder(jobID: String, area: StorageArea) -> URL {
    switch area {
    case .upload: self.staging.appendingPathComponent(jobID, isDirectory: true)
    case .checkpoint: self.checkpoints
    case .results: self.results.appendingPathComponent(jobID, isDirectory: true)
    }
  }

  /// Where the object is: a checkpoint outside the job's folder, so that it counts toward no
  /// tenant's stored bytes.
  private func file(_ key: StorageKey) -> URL {
    switch key.area {
    case .checkpoint: self.checkpoints.appendingPathComponent("\(key.jobID).checkpoint")
    case .upload, .results: self.folder(jobID: key.jobID, area: key.area).appendingPathComponent(key.name)
    }
  }
}

extension SpoolFile: AppendableObject {
  /// The file system makes appends readable as soon as they are written: nothing to complete.
  func seal() throws {}
}
