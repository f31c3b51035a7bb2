internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// A failed system call on a file of `FileJobStorage`.
///
/// Internal: `JobService` turns it into an `UNAVAILABLE` `BulkError` whose cause it is.
struct SpoolFileError: Error, CustomStringConvertible {
  var operation: String
  var path: String
  var errno: Int32

  var description: String {
    "\(self.operation) \(self.path): \(String(cString: strerror(self.errno)))"
  }
}

/// A file of `FileJobStorage`: an upload's appendable object, or a whole object being written.
///
/// This type alone owns the file descriptor and closes it in `deinit`. It is used on one queue at
/// a time (its spool's, or the caller's of one storage call).
final class SpoolFile {
  private let descriptor: Int32
  let path: String
  /// Bytes in the file; every append moves it.
  private(set) var size: Int64

  /// Opens the file at `path`, created empty (mode 0600) unless `readOnly`.
  init(path: String, readOnly: Bool = false) throws {
    // Uploads and results hold tenants' rows: the server's user alone may read them.
    let descriptor = readOnly ? open(path, O_RDONLY | O_CLOEXEC) : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw SpoolFileError(operation: "open", path: path, errno: errno) }
    let end = lseek(descriptor, 0, SEEK_END)
    guard end >= 0 else {
      let code = errno
      close(descriptor)
      throw SpoolFileError(operation: "lseek", path: path, errno: code)
    }
    self.descriptor = descriptor
    self.path = path
    self.size = Int64(end)
  }

  deinit {
    close(self.descriptor)
  }

  /// Writes `bytes` at the end. On failure the file is cut back to its old size, so a refused
  /// append leaves nothing behind.
  func append(_ bytes: some ContiguousBytes) throws {
    let start = self.size
    var written = 0
    try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      while written < raw.count {
        let result = pwrite(
          self.descriptor,
          raw.baseAddress! + written,
          raw.count - written,
          off_t(start) + off_t(written)
        )
        if result < 0 {
          if errno == EINTR { continue }
          let code = errno
          _ = ftruncate(self.descriptor, off_t(start))
          throw SpoolFileError(operation: "write", path: self.path, errno: code)
        }
        written += result
      }
    }
    self.size = start + Int64(written)
  }

  /// Makes everything written durable.
  func sync() throws {
    guard fsync(self.descriptor) == 0 else { throw SpoolFileError(operation: "fsync", path: self.path, errno: errno) }
  }

  /// Up to `maxLength` bytes from `position`; fewer only at the end of the file.
  func read(at position: Int64, maxLength: Int) throws -> Data {
    let length = Int(max(0, min(Int64(maxLength), self.size - position)))
    var data = Data(count: length)
    let done = try data.withUnsafeMutableBytes { (target: UnsafeMutableRawBufferPointer) -> Int in
      var done = 0
      while done < length {
        let result = pread(self.descriptor, target.baseAddress! + done, length - done, off_t(position) + off_t(done))
        if result < 0 {
          if errno == EINTR { continue }
          throw SpoolFileError(operation: "read", path: self.path, errno: errno)
        }
        guard result > 0 else { break }
        done += result
      }
      return done
    }
    if done < length { data.removeLast(length - done) }
    return data
  }

  /// Cuts the file back to `size` bytes and makes that durable.
  func truncate(to size: Int64) throws {
    guard ftruncate(self.descriptor, off_t(size)) == 0 else {
      throw SpoolFileError(operation: "ftruncate", path: self.path, errno: errno)
    }
    self.size = size
    try self.sync()
  }

  /// Writes a whole small file and fsyncs it.
  static func writeDurably(_ data: some ContiguousBytes, to url: URL) throws {
    let file = try SpoolFile(path: url.path)
    guard ftruncate(file.descriptor, 0) == 0 else {
      throw SpoolFileError(operation: "ftruncate", path: url.path, errno: errno)
    }
    file.size = 0
    try file.append(data)
    try file.sync()
  }

  /// Makes the folder's entries (new files, renames) durable.
  static func syncDirectory(_ url: URL) throws {
    let descriptor = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { throw SpoolFileError(operation: "open", path: url.path, errno: errno) }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw SpoolFileError(operation: "fsync", path: url.path, errno: errno) }
  }
}
