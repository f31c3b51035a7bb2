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
      (
        #"{"tenants": [{"id": "team-a", "tokens": []}, {"id": "team_a", "tokens": []}]}"#,
        "tenants 'team-a' and 'team_a' would share the schema 'team_a'"
      ),
      (
        #"{"tenants": [{"id": "a", "tokens": [], "schema": "s"}, {"id": "b", "tokens": [], "schema": "s"}]}"#,
        "tenants 'a' and 'b' would share the schema 's'"
      ),
      (
        #"{"tenants": [{"id": "Acme", "tokens": [], "schema": "s1"}, {"id": "acme", "tokens": [], "schema": "s2"}]}"#,
        "tenants 'Acme' and 'acme' would share the embedded warehouse file 'acme.sqlite'"
      ),
      (#"{"tenants": [{"id": "a", "tokens": [], "query_url": "mysql://x"}]}"#, "tenants[0].query_url: expected a postgresql:// URL"),
      (#"{"tenants": [{"id": "a", "tokens": [], "query_role": "r; drop"}]}"#, "tenants[0].query_role: 'r; drop' is not a valid role name"),
      (
        #"{"tenants": [{"id": "a", "tokens": [], "query_url": "postgresql://r@h/d", "query_role": "r"}]}"#,
        "give query_url or query_role, not both"
      ),
      (#"{"tenants": [{"id": "a", "tokens": [], "query_password_env": "P"}]}"#, "a query password needs query_url or query_role"),
      (
        #"{"tenants": [{"id": "a", "tokens": [], "query_role": "r", "query_password_env": "SPECTRA_TEST_UNSET"}]}"#,
        "tenants[0].query_password_env: the environment variable SPECTRA_TEST_UNSET is not set"
      ),
      (
        #"{"tenants": [{"id": "a", "tokens": [], "query_role": "r", "query_password_file": "/nonexistent/pw"}]}"#,
        "tenants[0].query_password_file: cannot read /nonexistent/pw"
      ),
    ]
  )
  func malformed(json: String, message: String) {
    #expect {
      try TenantDirectory.parse(Data(json.utf8), source: "t.json")
    } throws: { error in
      (error as? BulkError)?.message.contains(message) == true
    }
  }

  @Test("query logins come with their passwords, read at start and never shown")
  func queryLogins() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tenants-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let passwordFile = folder.appendingPathComponent("b.password")
    try Data("file-password\n".utf8).write(to: passwordFile)
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passwordFile.path)
    let json = """
      {"tenants": [
        {"id": "a", "tokens": [], "query_url": "postgresql://reader_a:url-password@db.example/wh"},
        {"id": "b", "tokens": [], "query_role": "reader_b", "query_password_file": "b.password"},
        {"id": "c", "tokens": [], "query_role": "reader_c", "query_password_env": "READER_C_PASSWORD"},
        {"id": "d", "tokens": []}
      ]}
      """
    let tenantsFile = folder.appendingPathComponent("tenants.json")
    try Data(json.utf8).write(to: tenantsFile)
    let (directory, warnings) = try TenantDirectory.load(
      contentsOf: tenantsFile,
      environment: ["READER_C_PASSWORD": "env-password"]
    )
    let logins = directory.tenants.map(\.queryLogin)
    #expect(logins[0] == QueryLogin(.url("postgresql://reader_a:url-password@db.example/wh")))
    #expect(logins[1] == QueryLogin(.role("reader_b"), password: "file-password"))
    #expect(logins[2] == QueryLogin(.role("reader_c"), password: "env-password"))
    #expect(logins[3] == nil)
    #expect("\(logins[0]!)" == "query_url postgresql://reader_a:***@db.example/wh")
    #expect("\(logins[1]!)" == "query_role reader_b (with a password)")
    #expect(warnings == ["tenants file \(tenantsFile.path), tenants[1].query_password_file \(passwordFile.path) may be read by others (mode 644); make it 0600"])
  }

  @Test(
    "URLs lose only their password when shown",
    arguments: [
      ("postgresql://u:p@h:5432/d?sslmode=require", "postgresql://u:***@h:5432/d?sslmode=require"),
      ("postgresql://u@h/d", "postgresql://u@h/d"),
      ("postgresql://h/d?user=u", "postgresql://h/d?user=u"),
      ("postgresql://u:p%40ss@h/d", "postgresql://u:***@h/d"),
    ]
  )
  func redacted(url: String, shown: String) {
    #expect(QueryLogin.redacted(url) == shown)
  }

  @Test("the development directory has tenant-123 and its one token")
  func development() {
    let directory = TenantDirectory.development(token: "dev")
    #expect(directory.tenant(forToken: "dev") == Tenant(id: "tenant-123"))
    #expect(directory.tenant(forToken: "other") == nil)
  }
}
