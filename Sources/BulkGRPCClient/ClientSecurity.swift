internal import GRPCNIOTransportHTTP2

/// How the client's connection is protected.
package enum ClientSecurity: Hashable, Sendable {
  /// No TLS: for a server on loopback, or behind a proxy that the client reaches some other way.
  case plaintext
  /// TLS, trusting the PEM certificates in `trustedCertificates` (or the system's roots when it
  /// is `nil`) and, for mTLS, presenting the PEM `certificate` with its `key`.
  case tls(trustedCertificates: String?, certificate: String?, key: String?)

  /// The transport's form of it.
  var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
    switch self {
    case .plaintext:
      return .plaintext
    case .tls(let trusted, let certificate, let key):
      let configure: (inout HTTP2ClientTransport.Posix.TransportSecurity.TLS) -> Void = { config in
        if let trusted { config.trustRoots = .certificates([.file(path: trusted, format: .pem)]) }
      }
      guard let certificate, let key else { return .tls(configure: configure) }
      return .mTLS(
        certificateChain: [.file(path: certificate, format: .pem)],
        privateKey: .file(path: key, format: .pem),
        configure: configure
      )
    }
  }
}
