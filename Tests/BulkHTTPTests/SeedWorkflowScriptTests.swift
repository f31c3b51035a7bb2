import BulkCore
import BulkHTTP
import BulkSQLite
import Foundation
import HummingbirdTesting
import Testing

/// Runs the curl scripts against the surface on a real socket with the `--demo` tenant and
/// tables, so the scripts and the routes stay in step: `Tests/curl/seed-workflow.sh`, the seed's
/// curl workflow, and `Tests/curl/seed-examples.py`, every example of the product document as
/// written. The cases run one at a time: each blocks a concurrency-pool thread while its script
/// runs, and two at once would take both threads of a 2-core machine from the server they call.
@Suite("seed curl workflow", .serialized, .timeLimit(.minutes(2)))
struct SeedWorkflowScriptTests {
  /// A script and the program that runs it.
  struct Script: Sendable, CustomTestStringConvertible {
    let name: String
    let interpreter: String

    var testDescription: String { "Tests/curl/\(self.name)" }
  }

  static let scripts = [
    Script(name: "seed-workflow.sh", interpreter: "bash"),
    Script(name: "seed-examples.py", interpreter: "python3"),
  ]

  @Test("the script passes", arguments: Self.scripts)
  func script(_ script: Script) async throws {
    let path = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent()
      .deletingLastPathComponent()
      .appendingPathComponent("curl/\(script.name)")
      .path
    let tenant = Tenant(id: TenantDirectory.developmentTenantID)
    try await RESTHarness.withStack(directory: .development(token: "dev-token")) { harness in
      let warehouse = URL(fileURLWithPath: harness.warehouse.path(of: tenant)).deletingLastPathComponent().path
      try DemoWarehouse.seed(directory: warehouse, tenantID: tenant.id)
      try await harness.surface.application().test(.live) { client in
        let port = try #require(client.port)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [script.interpreter, path]
        var environment = ProcessInfo.processInfo.environment
        environment["API_URL"] = "http://127.0.0.1:\(port)/v1"
        environment["TOKEN"] = "dev-token"
        environment["SPECTRA_DEMO_WAREHOUSE"] = harness.warehouse.path(of: tenant)
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains(" passed, 0 failed"), "\(text)")
      }
    }
  }
}
