internal import Foundation

extension ExternalCommand {
  /// The absolute path of the program `name` on `PATH`, as `posix_spawn` needs it.
  ///
  /// - Throws: when no folder of `PATH` has it; the message names the Debian package
  ///   (`debianPackage`) that brings it.
  package static func program(named name: String, debianPackage: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
      return "\(folder)/\(name)"
    }
    throw PostgresClusterError(message: "\(name) is not on PATH (Debian's package \(debianPackage))")
  }
}
