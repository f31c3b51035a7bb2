import BulkCore
import Foundation
import Testing

@Suite("TenantDirectory")
struct TenantDirectoryTests {
  static func hex(_ token: String) -> String {
    TenantDirectory.digest(of: token).map { String(format: "%02x", $0) }.joined()
  }

  let file = """
    {"tenants": [
      {"id": "acme", "tokens": ["sha256:\(Self.hex("acme-secret"))", "sha256:\(Self.hex("acme-rotated"))"]},
      {"id": "Big-Co", "tokens": ["plain-dev-token"], "schema": "bigco"}
    ]}
    """

  @Test("hashed and plain tokens authenticate their tenant; plain ones are warned about")
  func parse() throws {
    let (directory, warnings) = try TenantDirectory.parse(Data(self.file.utf8), source: "t.json")
    #expect(directory.tenants.map(\.id) == ["acme", "Big-Co"])
    #expect(directory.tenants.map(\.schema) == ["acme", "bigco"])
    #expect(directory.tenant(forToken: "acme-secret")?.id == "acme")
    #expect(directory.tenant(forToken: "acme-rotated")?.id == "acme")
    #expect(directory.tenant(forToken: "plain-dev-token")?.id == "Big-Co")
    #expect(directory.tenant(forToken: "acme-secre") == nil)
    #expect(directory.tenant(id: "Big-Co")?.schema == "bigco")
    #expect(directory.tenant(id: "big-co") == nil)
    #expect(warnings.count == 1)
    #expect(warnings.first?.contains("tenants[1].tokens[0]") == true)
    #expect(warnings.first?.contains("plain-dev-token") == false)
  }

  @Test("the schema defaults to the id with characters outside [a-z0-9_] replaced")
  func defaultSchema() {
    #expect(Tenant(id: "tenant-123").schema == "tenant_123")
    #expect(Tenant(id: "A.b c").schema == "__b_c")
  }

  @Test(
    "authorization values",
    arguments: [
      (nil, nil, BulkError.Code.unauthenticated),
      ("", nil, .unauthenticated),
      ("acme-secret", nil, .unauthenticated),
      ("Basic acme-secret", nil, .unauthenticated),
      ("Bearer wrong", nil, .unauthenticated),
      ("Bearer acme-secret", "Big-Co", .permissionDenied),
    ] as [(String?, String?, BulkError.Code)]
  )
  func refused(authorization: String?, tenantHeader: String?, code: BulkError.Code) throws {
    let (directory, _) = try TenantDirectory.parse(Data(self.file.utf8), source: "t.json")
    #expect {
      try directory.authenticate(authorization: authorization, tenantHeader: tenantHeader)
    } throws: { error in
      (error as? BulkError)?.code == code && !((error as? BulkError)?.message.contains("acme-secret") ?? true)
    }
  }

  @Test("Bearer in any case, with or without a matching x-tenant-id")
  func accepted() throws {
    let (directory, _) = try TenantDirectory.parse(Data(self.file.utf8), source: "t.json")
    #expect(try directory.authenticate(authorization: "Bearer acme-secret", tenantHeader: nil).id == "acme")
    #expect(try directory.authenticate(authorization: "bearer acme-secret", tenantHeader: "acme").id == "acme")
    #expect(try directory.authenticate(authorization: "Bearer acme-secret", tenantHeader: "").id == "acme")
  }

  @Test(
    "malformed files are refused with the place at fault",
    arguments: [
      ("{", "is not valid"),
      (#"{"tenants": [{"id": "", "tokens": []}]}"#, "tenants[0]: id is empty"),
      (#"{"tenants": [{"id": "a", "tokens": []}, {"id": "a", "tokens": []}]}"#, "tenant 'a' appears twice"),
      (#"{"tenants": [{"id": "a", "tokens": ["sha256:abc"]}]}"#, "tokens[0]: expected sha256: and 64 hex digits"),
      (#"{"tenants": [{"id": "a", "tokens": [""]}]}"#, "tokens[0]: empty token"),
      (#"{"tenants": [{"id": "a", "tokens": [], "schema": "x; drop"}]}"#, "is not a valid identifier"),
    ]
  )
  func malformed(json: String, message: String) {
    #expect {
      try TenantDirectory.parse(Data(json.utf8), source: "t.json")
    } throws: { error in
      (error as? BulkError)?.message.contains(message) == true
    }
  }

  @Test("the development directory has tenant-123 and its one token")
  func development() {
    let directory = TenantDirectory.development(token: "dev")
    #expect(directory.tenant(forToken: "dev") == Tenant(id: "tenant-123"))
    #expect(directory.tenant(forToken: "other") == nil)
  }
}
