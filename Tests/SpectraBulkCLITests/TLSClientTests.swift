internal import BulkTestSupport
internal import Foundation
internal import Synchronization
internal import Testing

/// The client commands against a server that serves TLS and asks for client certificates.
@Suite("spectra-bulk over TLS and mTLS, end to end")
struct TLSClientTests {
  @Test("load and jobs trust the server's CA and present the client certificate; without them the call fails")
  func mutualTLS() async throws {
    let certificates = Mutex<TestCertificates?>(nil)
    let server = try DemoServer { directory in
      let made = try TestCertificates.make(in: "\(directory)/pki")
      certificates.withLock { $0 = made }
      return ["--tls-cert", made.serverCertificate, "--tls-key", made.serverKey, "--tls-client-ca", made.caCertificate]
    }
    let pki = try #require(certificates.withLock { $0 })
    let mutual = ["--ca-cert", pki.caCertificate, "--client-cert", pki.clientCertificate, "--client-key", pki.clientKey]
    let file = try server.file("one.csv", "id,name,email\n900,Tess,tess@example.com\n")

    let load = try await server.cli(["load", file, "--object", "customers", "--operation", "insert", "--json"] + mutual)
    #expect(load.status == 0, "\(load.standardError)")
    #expect(try load.json["records_succeeded"] as? Int == 1)

    let jobs = try await server.cli(
      ["jobs", "--json"],
      environment: [
        "SPECTRA_CA_CERT": pki.caCertificate, "SPECTRA_CLIENT_CERT": pki.clientCertificate,
        "SPECTRA_CLIENT_KEY": pki.clientKey,
      ]
    )
    #expect(jobs.status == 0, "\(jobs.standardError)")
    #expect(try JobCommandsTests.jobIDs(jobs).count == 1)

    let withoutCertificate = try await server.cli(["jobs", "--ca-cert", pki.caCertificate])
    #expect(withoutCertificate.status == 1)
    let plaintext = try await server.cli(["jobs"])
    #expect(plaintext.status == 1)
    let halfPair = try await server.cli(["jobs", "--client-cert", pki.clientCertificate])
    #expect(halfPair.status != 0)
    #expect(halfPair.standardError.contains("--client-cert and --client-key go together"))
  }
}
