internal import BulkCore
internal import Foundation
internal import Synchronization

/// The passwords of the query roles the server provisioned, one file per role in a folder of the
/// data directory (`<role>.password`, mode 0600 from its creation), remembered once read. Without
/// a folder they live in memory only, and a restart sets new ones.
final class QueryRolePasswords: Sendable {
  private let directory: URL?
  private let known = Mutex<[String: String]>([:])

  init(directory: String?) {
    self.directory = directory.map { URL(fileURLWithPath: $0, isDirectory: true) }
  }

  /// The stored password of `role`, or `nil`.
  func password(of role: String) throws -> String? {
    if let password = self.known.withLock({ $0[role] }) { return password }
    guard let url = self.file(of: role), let data = FileManager.default.contents(atPath: url.path) else { return nil }
    let password = String(decoding: data, as: UTF8.self)
    self.known.withLock { $0[role] = password }
    return password
  }

  /// A new random password for `role`, stored (durably, when there is a folder) before it is
  /// returned, so that a crash after the role is changed never leaves it with a password nobody
  /// knows.
  func makePassword(of role: String) throws -> String {
    var generator = SystemRandomNumberGenerator()
    let password = Hex.string((0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) })
    if let url = self.file(of: role) {
      try FileManager.default.createDirectory(
        at: url.deletingLastPathComponent(),
        withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
      )
      try PrivateFile.write(Array(password.utf8), to: url.path)
    }
    self.known.withLock { $0[role] = password }
    return password
  }

  /// Forgets the password of `role`, remembered and stored, after the server refused it (another
  /// server set a new one): the next provisioning sets a new one again.
  func forget(_ role: String) {
    self.known.withLock { _ = $0.removeValue(forKey: role) }
    if let url = self.file(of: role) {
      unlink(url.path)
    }
  }

  private func file(of role: String) -> URL? {
    self.directory?.appendingPathComponent("\(role).password")
  }
}
