internal import BulkCore
internal import Foundation

/// The claim of one server process on its data directory: a write lock (`fcntl`) on
/// `<data-dir>/instance.lock`, which holds the process id, taken at start and held until the
/// process ends (the kernel drops it then, however the process ends).
///
/// The embedded catalog, the staged uploads and the results in a data directory serve one
/// instance; a second `spectra-bulk serve` on the same directory would resume and reap the
/// first one's jobs, so it is refused. Several instances share a PostgreSQL catalog and S3
/// storage, each with a data directory of its own.
final class DataDirectoryLock: Sendable {
  private let descriptor: Int32

  /// Takes the lock on `directory`.
  ///
  /// - Throws: `BulkError` (`FAILED_PRECONDITION`) naming the process that holds it.
  init(directory: URL) throws {
    let path = directory.appendingPathComponent("instance.lock").path
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      throw BulkError(code: .failedPrecondition, message: "cannot open \(path): \(String(cString: strerror(errno)))")
    }
    var lock = flock()
    lock.l_type = Int16(F_WRLCK)
    lock.l_whence = Int16(SEEK_SET)
    guard fcntl(descriptor, F_SETLK, &lock) == 0 else {
      let holder = Self.holder(descriptor)
      close(descriptor)
      throw BulkError(
        code: .failedPrecondition,
        message: "the data directory \(directory.path) is in use by another spectra-bulk serve"
          + (holder.map { " (pid \($0))" } ?? "")
          + ": one instance per data directory; several instances share --catalog postgresql://… and "
          + "S3 storage, each with its own --data-dir"
      )
    }
    let pid = Array("\(getpid())\n".utf8)
    guard ftruncate(descriptor, 0) == 0, pwrite(descriptor, pid, pid.count, 0) == pid.count else {
      close(descriptor)
      throw BulkError(code: .failedPrecondition, message: "cannot write \(path): \(String(cString: strerror(errno)))")
    }
    self.descriptor = descriptor
  }

  deinit {
    close(self.descriptor)
  }

  /// The process the lock's holder wrote, or the one `fcntl` names.
  private static func holder(_ descriptor: Int32) -> Int32? {
    var lock = flock()
    lock.l_type = Int16(F_WRLCK)
    lock.l_whence = Int16(SEEK_SET)
    if fcntl(descriptor, F_GETLK, &lock) == 0, lock.l_type != Int16(F_UNLCK) { return lock.l_pid }
    return nil
  }
}
