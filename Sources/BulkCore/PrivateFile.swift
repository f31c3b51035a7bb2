internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// A failed system call on a file of the data directory.
///
/// Internal: it stops the server at start, or becomes the cause of an `UNAVAILABLE` `BulkError`;
/// a client never sees it.
package struct PrivateFileError: Error, CustomStringConvertible {
  package var operation: String
  package var path: String
  package var errno: Int32

  package var description: String {
    "\(self.operation) \(self.path): \(String(cString: strerror(self.errno)))"
  }
}

/// Files only the server's user may read (mode 0600), created with that mode rather than
/// narrowed after, so no other user can open them in between: the catalog, the warehouse files,
/// keys.
package enum PrivateFile {
  /// Creates an empty file at `path` with mode 0600 unless one is there already. SQLite gives
  /// the `-wal` and `-shm` files of a database the mode of its file, so a database opened here
  /// after stays private, journals included.
  package static func create(_ path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      guard errno == EEXIST else { throw PrivateFileError(operation: "create", path: path, errno: errno) }
      return
    }
    close(descriptor)
  }

  /// Replaces the file at `path` with `bytes`, whole or not at all: they are written to a
  /// temporary file created 0600 beside it, fsynced and renamed over it, and the folder is
  /// fsynced so the rename survives a crash.
  package static func write(_ bytes: [UInt8], to path: String) throws {
    let temporary = path + ".tmp-" + String(UInt64.random(in: 0 ... .max), radix: 16)
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw PrivateFileError(operation: "create", path: temporary, errno: errno) }
    do {
      defer { close(descriptor) }
      var written = 0
      while written < bytes.count {
        let result = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
        if result < 0 {
          if errno == EINTR { continue }
          throw PrivateFileError(operation: "write", path: temporary, errno: errno)
        }
        written += result
      }
      guard fsync(descriptor) == 0 else { throw PrivateFileError(operation: "fsync", path: temporary, errno: errno) }
      guard rename(temporary, path) == 0 else { throw PrivateFileError(operation: "rename", path: path, errno: errno) }
    } catch {
      unlink(temporary)
      throw error
    }
    let folder = (path as NSString).deletingLastPathComponent
    let directory = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directory >= 0 else { throw PrivateFileError(operation: "open", path: folder, errno: errno) }
    defer { close(directory) }
    guard fsync(directory) == 0 else { throw PrivateFileError(operation: "fsync", path: folder, errno: errno) }
  }
}
