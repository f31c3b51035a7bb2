import BulkTestSupport
import Foundation
import Testing

/// One server process per data directory: the embedded catalog and the staged files are one
/// instance's.
@Suite("One instance per data directory")
struct DataDirectoryLockTests {
  @Test("a second spectra-bulk serve on the same data directory does not start, naming the first; one after it ended does")
  func secondInstanceRefused() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let arguments = ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory]
      let environment = ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token]
      let first = try ServerProcess(arguments: arguments, environment: environment)
      _ = try first.awaitGRPCPort()
      let log = "\(directory)-second.log"
      defer { unlink(log) }
      let second = try ServerProcess(arguments: arguments, environment: environment, errorLog: log)
      #expect(second.waitForExit() != 0)
      let message = try String(contentsOfFile: log, encoding: .utf8)
      #expect(message.contains("the data directory \(directory) is in use by another spectra-bulk serve (pid \(first.pid))"))
      #expect(first.stop() == 0)
      let third = try ServerProcess(arguments: arguments, environment: environment)
      _ = try third.awaitGRPCPort()
      #expect(third.stop() == 0)
    }
  }
}
