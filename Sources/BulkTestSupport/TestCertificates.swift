internal import Foundation

/// A throw-away PKI made with the `openssl` command, as PEM files in one folder: a self-signed
/// CA, a server certificate for `localhost` and `127.0.0.1`, and a client certificate, both
/// signed by the CA, and a second CA that signed neither (for a client the server must refuse).
///
/// Keys are EC P-256, unencrypted; certificates are valid for a day.
package struct TestCertificates: Sendable {
  /// The folder holding the files.
  package let directory: String

  /// The CA certificate: the trust root of clients, and `--tls-client-ca` for mTLS.
  package var caCertificate: String { "\(self.directory)/ca.pem" }
  /// The server's certificate, for `localhost` and `127.0.0.1`.
  package var serverCertificate: String { "\(self.directory)/server.pem" }
  /// The server certificate's private key.
  package var serverKey: String { "\(self.directory)/server.key" }
  /// A client certificate signed by the CA.
  package var clientCertificate: String { "\(self.directory)/client.pem" }
  /// The client certificate's private key.
  package var clientKey: String { "\(self.directory)/client.key" }
  /// A client certificate signed by another CA, which the server does not trust.
  package var strangerCertificate: String { "\(self.directory)/stranger.pem" }
  /// The stranger certificate's private key.
  package var strangerKey: String { "\(self.directory)/stranger.key" }

  /// Makes the files in `directory` (which must exist) with `openssl` from `PATH`; blocks the
  /// calling thread for the few runs of `openssl`.
  package static func make(in directory: String) throws -> TestCertificates {
    let openssl = try ExternalCommand.program(named: "openssl", debianPackage: "openssl")
    func run(_ arguments: [String]) throws {
      try ExternalCommand(arguments: [openssl] + arguments, directory: directory, scratchParent: directory).check()
    }
    let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ["ca", "other-ca"] {
      try run(
        ["req", "-x509"] + curve + [
          "-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "1", "-subj", "/CN=Spectra test \(ca)",
          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ]
      )
    }
    let leaves = [
      ("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
      ("client", "ca", "extendedKeyUsage=clientAuth\n"),
      ("stranger", "other-ca", "extendedKeyUsage=clientAuth\n"),
    ]
    for (serial, (name, ca, extensions)) in leaves.enumerated() {
      try Data(extensions.utf8).write(to: URL(fileURLWithPath: "\(directory)/\(name).ext"))
      try run(["req"] + curve + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=spectra-\(name)"])
      try run([
        "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
        "-set_serial", "\(serial + 2)", "-days", "1", "-extfile", "\(name).ext", "-out", "\(name).pem",
      ])
    }
    return TestCertificates(directory: directory)
  }
}
