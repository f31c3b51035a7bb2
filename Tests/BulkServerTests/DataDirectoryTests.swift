import BulkCore
import BulkSQLite
import BulkServer
import Foundation
import Testing

/// What the server leaves in its data directory.
@Suite("data directory")
struct DataDirectoryTests {
  /// Every file under `directory` whose mode lets a user other than the owner in.
  static func openToOthers(_ directory: String) throws -> [String] {
    let files = try #require(FileManager.default.subpathsOfDirectory(atPath: directory) as [String]?)
    return try files.filter { file in
      let attributes = try FileManager.default.attributesOfItem(atPath: "\(directory)/\(file)")
      guard attributes[.type] as? FileAttributeType == .typeRegular else { return false }
      return (attributes[.posixPermissions] as? Int ?? 0o777) & 0o077 != 0
    }
  }

  @Test("the catalog, the warehouse files, their journals and the signing key are 0600 from the start")
  func privateFiles() async throws {
    try await ServerEndToEndTests.withDataDirectory { directory in
      let server = try ServerEndToEndTests.inProcessServer(directory: directory, demo: true)
      // A tenant's warehouse file, written through the warehouse, with its WAL open.
      let warehouse = try SQLiteWarehouse(directory: "\(directory)/warehouse")
      _ = try await warehouse.ledger(jobID: "bulk-job-modes", tenant: Tenant(id: "acme"))
      let files = try FileManager.default.subpathsOfDirectory(atPath: directory)
      for expected in [
        "catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "upload-signing.key",
        "warehouse/\(TenantDirectory.developmentTenantID).sqlite", "warehouse/acme.sqlite", "warehouse/acme.sqlite-wal",
        "warehouse/acme.sqlite-shm",
      ] {
        #expect(files.contains(expected), "\(expected) is missing: \(files.sorted())")
      }
      #expect(try Self.openToOthers(directory) == [])
      withExtendedLifetime((server, warehouse)) {}
    }
  }
}
