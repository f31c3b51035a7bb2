internal import Foundation
internal import NIOCore

#if canImport(Glibc)
internal import Glibc
#endif

/// A failed system call on a staging file.
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

/// An append-only file of an upload spool.
///
/// This type alone owns the file descriptor and closes it in `deinit`. It is used on its spool's
/// queue only.
final class SpoolFile {
  private let descriptor: Int32
  let path: String
  /// Bytes in the file; every append moves it.
  private(set) var size: Int64

  init(path: String) throws {
    // Uploads and results hold tenants' rows: the server's user alone may read them.
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
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

  /// Calls `body` with successive pieces of the file from `start` to `end`, 1 MiB at a time.
  func read(from start: Int64, upTo end: Int64, _ body: (ByteBuffer) throws -> Void) throws {
    var position = start
    while position < end {
      let piece = try self.readPiece(at: position, maxLength: Int(min(1 << 20, end - position)))
      guard piece.readableBytes > 0 else { break }
      position += Int64(piece.readableBytes)
      try body(piece)
    }
  }

  /// Up to `maxLength` bytes from `position`; fewer only at the end of the file.
  func readPiece(at position: Int64, maxLength: Int) throws -> ByteBuffer {
    var buffer = ByteBuffer()
    let length = Int(max(0, min(Int64(maxLength), self.size - position)))
    _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
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
    return buffer
  }

  /// Counts the complete length-delimited frames and cuts off a partial last one (a write that
  /// a crash interrupted).
  func recoverFrames() throws -> Int64 {
    var frames: Int64 = 0
    var complete: Int64 = 0
    var header = [UInt8](repeating: 0, count: 4)
    while complete + 4 <= self.size {
      let count = pread(self.descriptor, &header, 4, off_t(complete))
      guard count == 4 else { break }
      let length = Int64(UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24)
      guard complete + 4 + length <= self.size else { break }
      complete += 4 + length
      frames += 1
    }
    if complete < self.size {
      guard ftruncate(self.descriptor, off_t(complete)) == 0 else {
        throw SpoolFileError(operation: "ftruncate", path: self.path, errno: errno)
      }
      self.size = complete
      try self.sync()
    }
    return frames
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
