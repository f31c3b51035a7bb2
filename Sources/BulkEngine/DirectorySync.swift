package import Foundation

/// Makes a folder's entries durable. A new file, folder or rename survives a crash only once the
/// folder that holds it is fsynced; the stores call this after each such change.
///
/// The server uses `fsync`; tests wrap it to see which folder is synced when.
package struct DirectorySync: Sendable {
  private let body: @Sendable (URL) throws -> Void

  /// Syncs folders with `body`.
  package init(_ body: @escaping @Sendable (URL) throws -> Void) {
    self.body = body
  }

  /// fsync(2) of the folder.
  package static let fsync = DirectorySync { try SpoolFile.syncDirectory($0) }

  /// Makes the entries of `folder` durable.
  package func callAsFunction(_ folder: URL) throws {
    try self.body(folder)
  }

  /// Creates `folder` when it is missing, and makes its entry durable by syncing its parent.
  func createFolder(_ folder: URL) throws {
    guard !FileManager.default.fileExists(atPath: folder.path) else { return }
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try self(folder.deletingLastPathComponent())
  }
}
