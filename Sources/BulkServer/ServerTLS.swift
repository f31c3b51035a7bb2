internal import BulkCore
internal import Foundation
internal import GRPCNIOTransportHTTP2
internal import NIOSSL

/// The TLS material of both surfaces, read from the PEM files of `--tls-cert`, `--tls-key` and
/// `--tls-client-ca` and checked once at start, so that a bad file stops the server with its name
/// rather than failing every handshake later.
struct ServerTLS: Sendable {
  /// The files as read: the gRPC transport takes PEM bytes and parses its own copy.
  private let certificatePEM: [UInt8]
  private let keyPEM: [UInt8]
  private let clientCAPEM: [UInt8]?
  /// The same, parsed, for the REST surface.
  private let certificateChain: [NIOSSLCertificate]
  private let privateKey: NIOSSLPrivateKey
  private let clientCAs: [NIOSSLCertificate]?

  /// Whether clients must present a certificate signed by the configured CA.
  var requiresClientCertificate: Bool { self.clientCAs != nil }

  /// The TLS of `configuration`, or `nil` when it has neither certificate nor key (plaintext).
  ///
  /// - Throws: `INVALID_ARGUMENT` naming the flag when only one of certificate and key is given,
  ///   or a client CA without them; naming the file when it cannot be read or holds no PEM
  ///   certificate or key, or when the key is not the certificate's.
  static func load(_ configuration: ServerConfiguration) throws(BulkError) -> ServerTLS? {
    switch (configuration.tlsCertificateFile, configuration.tlsKeyFile) {
    case (nil, nil):
      if let clientCA = configuration.tlsClientCAFile {
        throw .invalidArgument("--tls-client-ca \(clientCA) needs TLS: give --tls-cert and --tls-key too")
      }
      return nil
    case (let certificate?, nil):
      throw .invalidArgument("--tls-cert \(certificate) is given without --tls-key: TLS needs both")
    case (nil, let key?):
      throw .invalidArgument("--tls-key \(key) is given without --tls-cert: TLS needs both")
    case (let certificateFile?, let keyFile?):
      return try ServerTLS(
        certificateFile: certificateFile,
        keyFile: keyFile,
        clientCAFile: configuration.tlsClientCAFile
      )
    }
  }

  private init(certificateFile: String, keyFile: String, clientCAFile: String?) throws(BulkError) {
    self.certificatePEM = try Self.read(certificateFile, flag: "--tls-cert")
    self.certificateChain = try Self.certificates(in: self.certificatePEM, file: certificateFile, flag: "--tls-cert")
    self.keyPEM = try Self.read(keyFile, flag: "--tls-key")
    do {
      self.privateKey = try NIOSSLPrivateKey(bytes: self.keyPEM, format: .pem)
    } catch {
      throw .invalidArgument("--tls-key \(keyFile) holds no PEM private key (an unencrypted key is needed)")
    }
    if let clientCAFile {
      let pem = try Self.read(clientCAFile, flag: "--tls-client-ca")
      self.clientCAPEM = pem
      self.clientCAs = try Self.certificates(in: pem, file: clientCAFile, flag: "--tls-client-ca")
    } else {
      self.clientCAPEM = nil
      self.clientCAs = nil
    }
    do {
      // BoringSSL checks here that the key belongs to the leaf certificate.
      _ = try NIOSSLContext(configuration: self.httpConfiguration)
    } catch {
      throw .invalidArgument(
        "--tls-key \(keyFile) is not the private key of the certificate in --tls-cert \(certificateFile)"
      )
    }
  }

  /// The REST surface's TLS: HTTP/1.1 over TLS 1.2 or later; with a client CA, the handshake
  /// fails without a client certificate signed by it.
  var httpConfiguration: TLSConfiguration {
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: self.certificateChain.map { .certificate($0) },
      privateKey: .privateKey(self.privateKey)
    )
    configuration.minimumTLSVersion = .tlsv12
    configuration.applicationProtocols = ["http/1.1"]
    if let clientCAs = self.clientCAs {
      configuration.certificateVerification = .noHostnameVerification
      configuration.trustRoots = .certificates(clientCAs)
    }
    return configuration
  }

  /// The gRPC surface's TLS, the same certificate and client rule as REST's (the transport sets
  /// TLS 1.2 or later and ALPN `h2`).
  var grpcSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
    let chain: [TLSConfig.CertificateSource] = [.bytes(self.certificatePEM, format: .pem)]
    let key: TLSConfig.PrivateKeySource = .bytes(self.keyPEM, format: .pem)
    guard let clientCAPEM = self.clientCAPEM else {
      return .tls(certificateChain: chain, privateKey: key)
    }
    return .mTLS(certificateChain: chain, privateKey: key) { config in
      config.trustRoots = .certificates([.bytes(clientCAPEM, format: .pem)])
    }
  }

  private static func read(_ file: String, flag: String) throws(BulkError) -> [UInt8] {
    do {
      return Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    } catch {
      throw .invalidArgument("\(flag) \(file) cannot be read: \(error.localizedDescription)")
    }
  }

  private static func certificates(
    in pem: [UInt8],
    file: String,
    flag: String
  ) throws(BulkError)
    -> [NIOSSLCertificate]
  {
    let certificates = try? NIOSSLCertificate.fromPEMBytes(pem)
    guard let certificates, !certificates.isEmpty else {
      throw .invalidArgument("\(flag) \(file) holds no PEM certificate")
    }
    return certificates
  }
}
