internal import BulkTestSupport
internal import Foundation

/// What one run of a program printed, and how it ended.
struct CommandResult: Sendable {
  var status: Int32
  var standardOutput: String
  var standardError: String

  /// Runs `arguments` to its end on a thread of its own, so that the wait blocks none of the
  /// threads that run Swift tasks (the proxy and other tests keep going meanwhile).
  static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
    try await withCheckedThrowingContinuation { continuation in
      Thread.detachNewThread {
        continuation.resume(
          with: Result {
            let output = try ExternalCommand(arguments: arguments, directory: "/", environment: environment).run()
            return CommandResult(
              status: output.status,
              standardOutput: output.standardOutput,
              standardError: output.standardError
            )
          }
        )
      }
    }
  }

  /// Standard output parsed as one JSON object.
  var json: [String: Any] {
    get throws {
      let value = try JSONSerialization.jsonObject(with: Data(self.standardOutput.utf8))
      guard let object = value as? [String: Any] else { throw CommandResultError.notAnObject(self.standardOutput) }
      return object
    }
  }
}

/// Output that is not what a test expected to parse.
enum CommandResultError: Error {
  case notAnObject(String)
}
