import BulkCore
import BulkHTTP
import BulkSQLite
import Foundation
import HummingbirdTesting
import Testing

/// Runs `Tests/curl/seed-workflow.sh`, the seed's curl workflow, against the surface on a real
/// socket with the `--demo` tenant and tables, so the script and the routes stay in step.
@Suite("seed curl workflow", .timeLimit(.minutes(2)))
struct SeedWorkflowScriptTests {
  static let script = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent("curl/seed-workflow.sh")

  @Test("Tests/curl/seed-workflow.sh passes")
  func seedWorkflow() async throws {
    let tenant = Tenant(id: TenantDirectory.developmentTenantID)
    try await RESTHarness.withStack(directory: .development(token: "dev-token")) { harness in
      let warehouse = URL(fileURLWithPath: harness.warehouse.path(of: tenant)).deletingLastPathComponent().path
      try DemoWarehouse.seed(directory: warehouse, tenantID: tenant.id)
      try await harness.surface.application().test(.live) { client in
        let port = try #require(client.port)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", Self.script.path]
        var environment = ProcessInfo.processInfo.environment
        environment["API_URL"] = "http://127.0.0.1:\(port)/v1/bulk"
        environment["TOKEN"] = "dev-token"
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
