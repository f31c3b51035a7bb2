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
/// This type alone owns the file descriptors and closes them in `deinit`. It is used on one queue
/// at a time (its spool's, or the caller's of one storage call).
final class SpoolFile {
  private let descriptor: Int32
  let path: String
  /// Bytes in the file; every append moves it.
  private(set) var size: Int64
  /// Appends written around the page cache, where the file system allows it (`directAppends`).
  private var direct: DirectAppends?

  /// Whether appends go around the page cache.
  var appendsDirectly: Bool { self.direct.map { !$0.isRefused } ?? false }

  /// Opens the file at `path`, created empty (mode 0600) unless `readOnly`.
  ///
  /// - Parameter directAppends: appends go to the disk with `O_DIRECT` (`DirectAppends`), unless
  ///   the file system refuses it (tmpfs), when they go through the page cache as other writes do.
  /// - Parameter directBlock: the size of the blocks appended directly (tests of a refusal).
  init(path: String, readOnly: Bool = false, directAppends: Bool = false, directBlock: Int = DirectAppends.block) throws {
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
    if directAppends && !readOnly {
      self.direct = try DirectAppends(descriptor: descriptor, path: path, size: Int64(end), writeBlock: directBlock)
    }
  }

  deinit {
    // What was appended stays in the file, synced or not, as with writes through the page cache.
    try? self.direct?.writeTail()
    close(self.descriptor)
  }

  /// Writes `bytes` at the end. On failure the file is cut back to its old size, so a refused
  /// append leaves nothing behind.
  func append(_ bytes: some ContiguousBytes) throws {
    if let direct = self.direct {
      try bytes.withUnsafeBytes { raw in
        do {
          try direct.append(raw)
        } catch let code as DirectAppends.Failure {
          throw SpoolFileError(operation: "write", path: self.path, errno: code.errno)
        }
      }
      self.size += Int64(bytes.withUnsafeBytes(\.count))
      return
    }
    let start = self.size
    try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      do {
        try DirectAppends.writeAll(self.descriptor, raw, at: start)
      } catch let failure as DirectAppends.Failure {
        _ = ftruncate(self.descriptor, off_t(start))
        throw SpoolFileError(operation: "write", path: self.path, errno: failure.errno)
      }
      self.size = start + Int64(raw.count)
    }
  }

  /// Makes everything written durable.
  func sync() throws {
    try self.writeTail()
    guard fsync(self.descriptor) == 0 else { throw SpoolFileError(operation: "fsync", path: self.path, errno: errno) }
  }

  /// Up to `maxLength` bytes from `position`; fewer only at the end of the file.
  func read(at position: Int64, maxLength: Int) throws -> Data {
    try self.writeTail()
    try self.readThroughCache()
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
    try self.writeTail()
    guard ftruncate(self.descriptor, off_t(size)) == 0 else {
      throw SpoolFileError(operation: "ftruncate", path: self.path, errno: errno)
    }
    self.size = size
    if let direct = self.direct {
      do {
        try direct.restart(at: size)
      } catch {
        throw SpoolFileError(operation: "read", path: self.path, errno: error.errno)
      }
    }
    try self.sync()
  }

  /// Puts the bytes appended past the last whole block, which `direct` holds, in the file.
  private func writeTail() throws {
    do {
      try self.direct?.writeTail()
    } catch {
      throw SpoolFileError(operation: "write", path: self.path, errno: error.errno)
    }
  }

  /// Turns `O_DIRECT` off for a read, which need not be aligned.
  private func readThroughCache() throws {
    do {
      try self.direct?.setDirect(false)
    } catch {
      throw SpoolFileError(operation: "fcntl", path: self.path, errno: error.errno)
    }
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

#if arch(x86_64) || arch(i386)
/// `O_DIRECT`, which Swift's Glibc module does not export.
private let openDirect: Int32 = 0o40000
#else
private let openDirect: Int32 = 0o200000
#endif

/// Appends to a file written with `O_DIRECT`: from an aligned buffer straight to the disk, around
/// the page cache. An upload is written once and read once, so caching it gains nothing, while
/// new page-cache pages are what writing costs most (on this project's VM, `dd` writes and
/// fsyncs 500 MiB at 2.2 GB/s this way and at 127–657 MB/s through the page cache).
///
/// `O_DIRECT` writes whole blocks at block offsets, so the buffer holds the file's bytes from the
/// last block boundary on (`base`). Each append writes the whole blocks it completes and keeps
/// the rest; `writeTail` writes that rest through the page cache (as many bytes as there are, so
/// the file is never longer than what was appended, even if the process dies there) before a
/// sync, a read or a cut, so the file always reads as everything appended. The file's one
/// descriptor has `O_DIRECT` set for the writes (`fcntl`) and cleared for reads.
final class DirectAppends {
  /// An `errno` of a failed call.
  struct Failure: Error {
    var errno: Int32
  }

  /// The block size `O_DIRECT` needs offsets, lengths and the buffer aligned to.
  static let block = 4096

  /// The size of the blocks written directly: `block`, or another in tests of a refusal.
  private let writeBlock: Int
  /// The buffer's size: appends larger than it are written a buffer at a time.
  static let capacity = 4 << 20

  /// The file's descriptor, which `SpoolFile` owns.
  private let descriptor: Int32
  /// The descriptor's flags without `O_DIRECT`.
  private let flags: Int32
  private var isDirect = false
  private let buffer: UnsafeMutableRawPointer
  /// Where the buffer's first byte is in the file: a multiple of `block`.
  private var base: Int64
  /// The file's bytes from `base` on, in the buffer: fewer than `block` between appends.
  private var count: Int
  /// Whether the buffer's bytes are in the file as they are.
  private var tailWritten = true
  /// Whether the file system refused a direct write (an alignment it wants larger than `block`):
  /// every write then goes through the page cache.
  private var refused = false

  /// Direct appends to the file of `descriptor` (at `path`) after its `size` bytes, in blocks of
  /// `writeBlock` bytes; `nil` when its file system does not take `O_DIRECT`.
  init?(descriptor: Int32, path: String, size: Int64, writeBlock: Int = DirectAppends.block) throws {
    let flags = fcntl(descriptor, F_GETFL)
    guard flags >= 0 else { throw SpoolFileError(operation: "fcntl", path: path, errno: errno) }
    guard fcntl(descriptor, F_SETFL, flags | openDirect) == 0 else {
      if errno == EINVAL { return nil }
      throw SpoolFileError(operation: "fcntl", path: path, errno: errno)
    }
    var memory: UnsafeMutableRawPointer?
    guard posix_memalign(&memory, Self.block, Self.capacity) == 0, let memory else {
      _ = fcntl(descriptor, F_SETFL, flags)
      throw SpoolFileError(operation: "posix_memalign", path: path, errno: ENOMEM)
    }
    self.descriptor = descriptor
    self.writeBlock = writeBlock
    self.flags = flags & ~openDirect
    self.isDirect = true
    self.buffer = memory
    self.base = 0
    self.count = 0
    do {
      try self.restart(at: size)
    } catch {
      throw SpoolFileError(operation: "read", path: path, errno: error.errno)
    }
  }

  deinit {
    free(self.buffer)
  }

  /// Whether the file system refused a direct write, so that writes go through the page cache.
  var isRefused: Bool { self.refused }

  /// Sets or clears `O_DIRECT` on the descriptor.
  func setDirect(_ direct: Bool) throws(Failure) {
    guard direct != self.isDirect else { return }
    guard fcntl(self.descriptor, F_SETFL, direct ? self.flags | openDirect : self.flags) == 0 else {
      throw Failure(errno: errno)
    }
    self.isDirect = direct
  }

  /// Appends `bytes`, writing every block they complete. On failure the file and the buffer are
  /// as before the call.
  func append(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
    let (oldBase, oldCount, oldTailWritten) = (self.base, self.count, self.tailWritten)
    let oldTail = Array(UnsafeRawBufferPointer(start: self.buffer, count: self.count))
    do {
      var offset = 0
      while offset < bytes.count {
        let take = min(Self.capacity - self.count, bytes.count - offset)
        (self.buffer + self.count).copyMemory(from: bytes.baseAddress! + offset, byteCount: take)
        self.count += take
        offset += take
        self.tailWritten = false
        try self.writeWholeBlocks()
      }
    } catch {
      // Back to what is certainly in the file: the old partial block only if it was written (a
      // block rewritten since starts with the same bytes); never past it, which would add zeros.
      _ = ftruncate(self.descriptor, off_t(oldBase) + off_t(oldTailWritten ? oldCount : 0))
      oldTail.withUnsafeBytes { self.buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
      (self.base, self.count, self.tailWritten) = (oldBase, oldCount, oldTailWritten)
      throw error
    }
  }

  /// Writes the buffer's bytes past its whole blocks through the page cache, exactly as many as
  /// there are (the next direct write of that block replaces them on the disk).
  func writeTail() throws(Failure) {
    guard !self.tailWritten else { return }
    try self.setDirect(false)
    try self.write(length: self.count)
    self.tailWritten = true
  }

  /// Starts again after the file was cut to `size`: its last partial block is read back.
  func restart(at size: Int64) throws(Failure) {
    try self.setDirect(false)
    self.base = size / Int64(self.writeBlock) * Int64(self.writeBlock)
    self.count = Int(size - self.base)
    var done = 0
    while done < self.count {
      let result = pread(self.descriptor, self.buffer + done, self.count - done, off_t(self.base) + off_t(done))
      if result < 0 && errno == EINTR { continue }
      guard result > 0 else { throw Failure(errno: result < 0 ? errno : EIO) }
      done += result
    }
    self.tailWritten = true
  }

  /// Writes the buffer's whole blocks and keeps the rest at its start.
  private func writeWholeBlocks() throws(Failure) {
    let whole = self.count / self.writeBlock * self.writeBlock
    guard whole > 0 else { return }
    do {
      try self.setDirect(!self.refused)
      try self.write(length: whole)
    } catch let failure where failure.errno == EINVAL && !self.refused {
      self.refused = true
      try self.setDirect(false)
      try self.write(length: whole)
    }
    let rest = self.count - whole
    if rest > 0 {
      self.buffer.copyMemory(from: self.buffer + whole, byteCount: rest)
    }
    self.base += Int64(whole)
    self.count = rest
  }

  /// Writes the buffer's first `length` bytes at `base`: with `O_DIRECT` unless it was cleared
  /// (then any length).
  private func write(length: Int) throws(Failure) {
    try Self.writeAll(self.descriptor, UnsafeRawBufferPointer(start: self.buffer, count: length), at: self.base)
  }

  /// Writes all of `bytes` at `offset` of the file of `descriptor`, however many calls it takes.
  static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(Failure) {
    var written = 0
    while written < bytes.count {
      let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
      if result < 0 && errno == EINTR { continue }
      guard result > 0 else { throw Failure(errno: result < 0 ? errno : EIO) }
      written += result
    }
  }
}
