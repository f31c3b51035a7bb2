import BulkCore
import BulkProto
import Foundation
import GRPCCore
import Testing

/// The quotas as a gRPC client meets them: `RESOURCE_EXHAUSTED` with a message naming the limit.
@Suite("Quotas over gRPC")
struct QuotaStatusTests {
  typealias Client = BulkServiceTests.Client

  static func expectExhausted<T>(naming: String, _ body: () async throws -> T) async {
    do {
      _ = try await body()
      Issue.record("expected RESOURCE_EXHAUSTED, the call succeeded")
    } catch let error as RPCError {
      #expect(error.code == .resourceExhausted, "\(error)")
      #expect(error.message.contains(naming), "\(error.message)")
    } catch {
      Issue.record("expected RPCError, got \(error)")
    }
  }

  static func upload(_ text: String, at offset: Int64, to jobID: String, client: Client) async throws -> Int64 {
    try await client.uploadJobData(metadata: BulkServiceTests.acme) { writer in
      var message = Spectra_Bulk_V1_UploadJobDataRequest()
      message.jobID = jobID
      message.offset = offset
      message.data = Data(text.utf8)
      try await writer.write(message)
    }.bytesUploaded
  }

  @Test("an upload past the tenant's bytes is RESOURCE_EXHAUSTED; bytes_uploaded keeps what was acknowledged")
  func tenantBytes() async throws {
    try await BulkServiceTests().withClient(limits: Limits(maxTenantBytes: 20)) { client in
      let job = try await client.createJob(BulkServiceTests.create(), metadata: BulkServiceTests.acme)
      #expect(try await Self.upload("id,name\n1,a\n", at: 0, to: job.jobID, client: client) == 12)
      await Self.expectExhausted(naming: "over its limit of 20 bytes (--max-tenant-bytes)") {
        try await Self.upload("2,bbbbbbbbbbbb\n", at: 12, to: job.jobID, client: client)
      }
      var get = Spectra_Bulk_V1_GetJobRequest()
      get.jobID = job.jobID
      #expect(try await client.getJob(get, metadata: BulkServiceTests.acme).bytesUploaded == 12)
    }
  }

  @Test("a query over its length limit is RESOURCE_EXHAUSTED at create")
  func queryLength() async throws {
    try await BulkServiceTests().withClient(limits: Limits(maxQueryBytes: 20)) { client in
      var request = BulkServiceTests.create("customers", .query)
      request.query = "SELECT id, name FROM customers"
      await Self.expectExhausted(naming: "query is 30 bytes, over the limit of 20 bytes (--max-query-bytes)") {
        try await client.createJob(request, metadata: BulkServiceTests.acme)
      }
    }
  }

  @Test("a query whose result passes its limit fails the job with the reason")
  func queryResultSize() async throws {
    try await BulkServiceTests().withClient(limits: Limits(maxQueryResultBytes: 1000)) { client, sql in
      try sql(
        """
        CREATE TABLE customers AS WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500)
        SELECT n AS id, 'name ' || n AS name FROM g
        """
      )
      var request = BulkServiceTests.create("customers", .query)
      request.query = "SELECT id, name FROM customers"
      let job = try await client.createJob(request, metadata: BulkServiceTests.acme)
      let states = try await BulkServiceTests.closeAndWatch(job.jobID, client: client)
      #expect(states.last == .failed)
      var get = Spectra_Bulk_V1_GetJobRequest()
      get.jobID = job.jobID
      let failed = try await client.getJob(get, metadata: BulkServiceTests.acme)
      #expect(
        failed.errorMessage.contains("passed its limit of 1000 bytes (--max-query-result-bytes)"),
        "\(failed.errorMessage)"
      )
    }
  }
}
