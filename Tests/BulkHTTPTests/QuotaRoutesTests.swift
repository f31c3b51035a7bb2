import BulkCore
import BulkEngine
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The quotas as a curl user meets them: 413 with `RESOURCE_EXHAUSTED` and a message naming the
/// limit, while reads and deletes keep working.
@Suite("REST quotas")
struct QuotaRoutesTests {
  @Test("an upload past the tenant's bytes is 413 naming the limit; the bytes acknowledged before stay")
  func tenantBytes() async throws {
    try await RESTHarness.run(limits: Limits(maxTenantBytes: 20)) { _, client in
      let id = try await client.createJob()
      let path = try await client.uploadPath(id)
      let first = try await client.upload("id,name\n1,a\n", to: path)
      #expect(first.status == .ok, "\(first.text)")
      let refused = try await client.upload(
        "2,bbbbbbbbbbbb\n",
        to: path,
        headers: [.contentRange: "bytes 12-26/*"]
      )
      #expect(refused.status == .contentTooLarge)
      #expect(refused.error.code == "RESOURCE_EXHAUSTED")
      #expect(
        refused.error.message.contains("over its limit of 20 bytes (--max-tenant-bytes)"),
        "\(refused.error.message)"
      )
      let job = try await client.call(.get, "/v1/bulk/jobs/\(id)")
      #expect(job.object["bytes_uploaded"] as? Int == 12)
    }
  }

  @Test("below the free-disk floor an upload is 413 naming the floor; reading, aborting and deleting work")
  func freeDiskFloor() async throws {
    let available = try StorageLedger.availableBytes(at: FileManager.default.temporaryDirectory.path)
    try await RESTHarness.run(limits: Limits(minFreeBytes: available + (1 << 30))) { _, client in
      let id = try await client.createJob()
      let refused = try await client.upload("id,name\n1,a\n", to: try await client.uploadPath(id))
      #expect(refused.status == .contentTooLarge)
      #expect(refused.error.code == "RESOURCE_EXHAUSTED")
      #expect(refused.error.message.contains("(--min-free-bytes)"), "\(refused.error.message)")
      #expect(try await client.call(.get, "/v1/bulk/jobs/\(id)").status == .ok)
      let aborted = try await client.call(.patch, "/v1/bulk/jobs/\(id)", json: #"{"state":"Aborted"}"#)
      #expect(aborted.status == .ok, "\(aborted.text)")
      #expect(try await client.call(.delete, "/v1/bulk/jobs/\(id)").status == .noContent)
    }
  }

  @Test("a query over its length limit is 413 at create, naming the limit")
  func queryLength() async throws {
    try await RESTHarness.run(limits: Limits(maxQueryBytes: 20)) { _, client in
      let response = try await client.call(
        .post,
        "/v1/bulk/jobs",
        json: #"{"operation":"query","object":"customers","query":"SELECT id, name FROM customers"}"#
      )
      #expect(response.status == .contentTooLarge)
      #expect(response.error.code == "RESOURCE_EXHAUSTED")
      #expect(response.error.message == "query is 30 bytes, over the limit of 20 bytes (--max-query-bytes)")
    }
  }

  @Test("a CSV header wider than allowed is 413 naming the limit and the byte offset")
  func headerColumns() async throws {
    try await RESTHarness.run(limits: Limits(maxColumns: 2)) { _, client in
      let id = try await client.createJob()
      let refused = try await client.upload("id,name,email\n1,a,b\n", to: try await client.uploadPath(id))
      #expect(refused.status == .contentTooLarge)
      #expect(
        refused.error.message == "the header at byte 0 names 3 columns, more than the 2 allowed (--max-columns)",
        "\(refused.error.message)"
      )
    }
  }
}
