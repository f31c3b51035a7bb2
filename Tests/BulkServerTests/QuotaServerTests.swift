import BulkProto
import BulkTestSupport
import Foundation
import GRPCCore
import Testing

/// The tenant's quota through the real binary: set by flag or by environment variable, and kept
/// across a restart, where the bytes stored before are measured again from the data directory.
@Suite("spectra-bulk serve, quotas")
struct QuotaServerTests {
  static func upload(_ text: String, client: ServerEndToEndTests.Client) async throws -> Int64 {
    let job = try await client.createJob(ServerEndToEndTests.create("customers"), metadata: ServerEndToEndTests.auth)
    return try await client.uploadJobData(metadata: ServerEndToEndTests.auth) { writer in
      var message = Spectra_Bulk_V1_UploadJobDataRequest()
      message.jobID = job.jobID
      message.data = Data(text.utf8)
      try await writer.write(message)
    }.bytesUploaded
  }

  @Test("--max-tenant-bytes and SPECTRA_MAX_TENANT_BYTES limit a tenant's stored bytes, across a restart")
  func tenantBytesAcrossRestart() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let arguments = ["--grpc-port", "0", "--http-port", "0", "--data-dir", directory]
      let environment = ["SPECTRA_DEV_TOKEN": ServerEndToEndTests.token]
      let upload = "id,name\n" + String(repeating: "1,abcdefgh\n", count: 6)

      let first = try ServerProcess(arguments: arguments + ["--max-tenant-bytes", "100"], environment: environment)
      try await ServerEndToEndTests.withClient(port: try first.awaitGRPCPort()) { client in
        let stored = try await Self.upload(upload, client: client)
        #expect(stored == 74)
      }
      #expect(first.stop(with: SIGTERM) == 0)

      var limited = environment
      limited["SPECTRA_MAX_TENANT_BYTES"] = "100"
      let second = try ServerProcess(arguments: arguments, environment: limited)
      try await ServerEndToEndTests.withClient(port: try second.awaitGRPCPort()) { client in
        do {
          _ = try await Self.upload(upload, client: client)
          Issue.record("a second upload of 74 bytes was stored within 100 bytes")
        } catch let error as RPCError {
          #expect(error.code == .resourceExhausted)
          #expect(
            error.message.contains(
              "would store 148 bytes of uploads and results, over its limit of 100 bytes (--max-tenant-bytes)"
            ),
            "\(error.message)"
          )
        }
      }
      #expect(second.stop(with: SIGTERM) == 0)
    }
  }
}
