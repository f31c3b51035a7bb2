public import Foundation
internal import NIOCore
internal import NIOHTTP1
internal import NIOFoundationCompat

/// Web identity, as EKS sets it up: the token in `AWS_WEB_IDENTITY_TOKEN_FILE` is exchanged for
/// temporary credentials of the role `AWS_ROLE_ARN` through STS `AssumeRoleWithWebIdentity` (an
/// unsigned call). The session is named `AWS_ROLE_SESSION_NAME` (else `spectra-bulk`); the STS
/// endpoint is `AWS_ENDPOINT_URL_STS` when set, else the regional one of `AWS_REGION`, else
/// `https://sts.amazonaws.com`.
public struct S3WebIdentityCredentials: S3CredentialProvider {
  let environment: [String: String]
  let http: S3HTTPTransport

  /// A provider configured by `environment`.
  public init(environment: [String: String] = ProcessInfo.processInfo.environment, http: S3HTTPTransport) {
    self.environment = environment
    self.http = http
  }

  /// Credentials of the role, with their expiry.
  public func credentials() async throws -> S3Credentials {
    let source = "web identity"
    guard let tokenFile = self.environment["AWS_WEB_IDENTITY_TOKEN_FILE"], !tokenFile.isEmpty else {
      throw S3CredentialError.notConfigured(source: source)
    }
    guard let role = self.environment["AWS_ROLE_ARN"], !role.isEmpty else {
      throw S3CredentialError.invalid(source: source, reason: "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
    }
    guard let data = FileManager.default.contents(atPath: tokenFile) else {
      throw S3CredentialError.invalid(source: source, reason: "cannot read AWS_WEB_IDENTITY_TOKEN_FILE \(tokenFile)")
    }
    let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let endpoint: String
    if let custom = self.environment["AWS_ENDPOINT_URL_STS"], !custom.isEmpty {
      endpoint = custom.hasSuffix("/") ? String(custom.dropLast()) : custom
    } else if let region = awsRegion(environment: self.environment) {
      endpoint = "https://sts.\(region).amazonaws.com"
    } else {
      endpoint = "https://sts.amazonaws.com"
    }
    let form: [(String, String)] = [
      ("Action", "AssumeRoleWithWebIdentity"),
      ("Version", "2011-06-15"),
      ("RoleArn", role),
      ("RoleSessionName", self.environment["AWS_ROLE_SESSION_NAME"] ?? "spectra-bulk"),
      ("WebIdentityToken", token),
    ]
    let body = form.map { "\(SigV4Signer.encode($0.0, keepSlash: false))=\(SigV4Signer.encode($0.1, keepSlash: false))" }
      .joined(separator: "&")
    let response: S3HTTPTransport.Response
    do {
      response = try await self.http.send(
        method: .POST,
        url: "\(endpoint)/",
        headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
        body: ByteBuffer(string: body),
        timeout: .seconds(10),
        limit: 1 << 20
      )
    } catch {
      throw S3CredentialError.fetchFailed(source: source, reason: "STS at \(endpoint): \(error)")
    }
    let document = try? XMLNode.parse(response.body)
    guard response.status == 200, let credentials = document?.first("AssumeRoleWithWebIdentityResult")?.first("Credentials") else {
      let code = document?.first("Error")?.text("Code") ?? "HTTP \(response.status)"
      throw S3CredentialError.fetchFailed(source: source, reason: "STS at \(endpoint) refused AssumeRoleWithWebIdentity: \(code)")
    }
    guard let key = credentials.text("AccessKeyId"), let secret = credentials.text("SecretAccessKey") else {
      throw S3CredentialError.fetchFailed(source: source, reason: "STS answer lacks AccessKeyId or SecretAccessKey")
    }
    return S3Credentials(
      accessKeyID: key,
      secretAccessKey: secret,
      sessionToken: credentials.text("SessionToken"),
      expiration: credentials.text("Expiration").flatMap(parseISO8601),
      source: source
    )
  }
}

/// The container credentials endpoint (ECS, EKS Pod Identity): `AWS_CONTAINER_CREDENTIALS_FULL_URI`,
/// or `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, with the header
/// `Authorization` from `AWS_CONTAINER_AUTHORIZATION_TOKEN` (or the file
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) when set.
public struct S3ContainerCredentials: S3CredentialProvider {
  let environment: [String: String]
  let http: S3HTTPTransport

  /// A provider configured by `environment`.
  public init(environment: [String: String] = ProcessInfo.processInfo.environment, http: S3HTTPTransport) {
    self.environment = environment
    self.http = http
  }

  /// The endpoint's credentials, with their expiry.
  public func credentials() async throws -> S3Credentials {
    let source = "container"
    let url: String
    if let relative = self.environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
      url = "http://169.254.170.2\(relative.hasPrefix("/") ? relative : "/" + relative)"
    } else if let full = self.environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
      url = full
    } else {
      throw S3CredentialError.notConfigured(source: source)
    }
    var headers: [(String, String)] = []
    if let tokenFile = self.environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !tokenFile.isEmpty {
      guard let data = FileManager.default.contents(atPath: tokenFile) else {
        throw S3CredentialError.invalid(source: source, reason: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(tokenFile)")
      }
      headers.append(("Authorization", String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
    } else if let token = self.environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
      headers.append(("Authorization", token))
    }
    let response: S3HTTPTransport.Response
    do {
      response = try await self.http.send(method: .GET, url: url, headers: headers, timeout: .seconds(5), limit: 1 << 20)
    } catch {
      throw S3CredentialError.fetchFailed(source: source, reason: "\(url): \(error)")
    }
    guard response.status == 200 else {
      throw S3CredentialError.fetchFailed(source: source, reason: "\(url) answered HTTP \(response.status)")
    }
    return try decodeCredentialDocument(response.body, source: source)
  }
}

/// EC2 instance metadata, IMDSv2: a session token from `PUT /latest/api/token`, then the role name
/// and its credentials from `/latest/meta-data/iam/security-credentials/`. The endpoint is
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` when set, else `http://169.254.169.254`; the source is off
/// when `AWS_EC2_METADATA_DISABLED` is `true`.
public struct S3InstanceMetadataCredentials: S3CredentialProvider {
  let environment: [String: String]
  let http: S3HTTPTransport

  /// A provider configured by `environment`.
  public init(environment: [String: String] = ProcessInfo.processInfo.environment, http: S3HTTPTransport) {
    self.environment = environment
    self.http = http
  }

  /// The instance role's credentials, with their expiry.
  public func credentials() async throws -> S3Credentials {
    let source = "instance metadata"
    if self.environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
      throw S3CredentialError.notConfigured(source: source)
    }
    var endpoint = self.environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://169.254.169.254"
    if endpoint.hasSuffix("/") { endpoint.removeLast() }
    let token: S3HTTPTransport.Response
    do {
      token = try await self.http.send(
        method: .PUT,
        url: "\(endpoint)/latest/api/token",
        headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
        timeout: .seconds(1),
        limit: 4096
      )
    } catch {
      // No metadata service answers: not on EC2, as the SDKs conclude.
      throw S3CredentialError.notConfigured(source: source)
    }
    guard token.status == 200 else {
      throw S3CredentialError.fetchFailed(source: source, reason: "\(endpoint) refused the IMDSv2 token request: HTTP \(token.status)")
    }
    let header = [("X-aws-ec2-metadata-token", String(buffer: token.body))]
    let base = "\(endpoint)/latest/meta-data/iam/security-credentials/"
    do {
      let roles = try await self.http.send(method: .GET, url: base, headers: header, timeout: .seconds(2), limit: 4096)
      guard roles.status == 200,
        let role = String(buffer: roles.body).split(whereSeparator: \.isNewline).first.map(String.init)
      else {
        throw S3CredentialError.fetchFailed(source: source, reason: "\(base) named no role: HTTP \(roles.status)")
      }
      let document = try await self.http.send(
        method: .GET,
        url: base + SigV4Signer.encode(role, keepSlash: false),
        headers: header,
        timeout: .seconds(2),
        limit: 1 << 20
      )
      guard document.status == 200 else {
        throw S3CredentialError.fetchFailed(source: source, reason: "role \(role): HTTP \(document.status)")
      }
      return try decodeCredentialDocument(document.body, source: source)
    } catch let error as S3CredentialError {
      throw error
    } catch {
      throw S3CredentialError.fetchFailed(source: source, reason: "\(endpoint): \(error)")
    }
  }
}

/// The JSON document of the container endpoint and of instance metadata:
/// `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`.
func decodeCredentialDocument(_ body: ByteBuffer, source: String) throws -> S3Credentials {
  struct Document: Decodable {
    var AccessKeyId: String
    var SecretAccessKey: String
    var Token: String?
    var Expiration: String?
  }
  let document: Document
  do {
    document = try JSONDecoder().decode(Document.self, from: Data(buffer: body))
  } catch {
    throw S3CredentialError.fetchFailed(source: source, reason: "the answer is not a credentials document (AccessKeyId, SecretAccessKey, Token, Expiration)")
  }
  return S3Credentials(
    accessKeyID: document.AccessKeyId,
    secretAccessKey: document.SecretAccessKey,
    sessionToken: document.Token,
    expiration: document.Expiration.flatMap(parseISO8601),
    source: source
  )
}

/// `2026-12-04T10:00:00Z`, with or without fractional seconds.
func parseISO8601(_ text: String) -> Date? {
  let formatter = ISO8601DateFormatter()
  if let date = formatter.date(from: text) { return date }
  formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
  return formatter.date(from: text)
}
