internal import AsyncHTTPClient
public import Foundation
public import Logging
public import NIOCore
internal import Crypto
internal import NIOHTTP1
internal import NIOFoundationCompat

/// A small S3 client: objects up and down, multipart uploads, listings and batch deletes, signed
/// with Signature Version 4 and retried with backoff.
///
/// Retries (``S3Configuration/Retry``, exponential backoff with full jitter): every request is
/// retried on an answer of 5xx, 429, `SlowDown` or `RequestTimeout`, since S3 did not carry it
/// out; connection errors and timeouts, where the request may have been carried out, are retried
/// for idempotent requests only — GET, HEAD, PUT (PutObject, UploadPart), DELETE
/// (AbortMultipartUpload) and DeleteObjects — and not for CreateMultipartUpload or
/// CompleteMultipartUpload. A streamed GetObject is retried until its answer's head arrives, not
/// after.
///
/// Uploads carry `x-amz-checksum-sha256` (which S3 verifies and stores, and the client compares
/// with what the store echoes) and a signed payload hash (`x-amz-content-sha256`, which S3 also
/// verifies); DeleteObjects carries the `Content-MD5` S3 requires.
public final class S3Client: Sendable {
  /// The settings.
  public let configuration: S3Configuration
  let credentials: any S3CredentialProvider
  let http: S3HTTPTransport
  let logger: Logger

  /// A client with `configuration`, signing with `credentials`, over `http`.
  public init(
    configuration: S3Configuration,
    credentials: any S3CredentialProvider,
    http: S3HTTPTransport,
    logger: Logger = Logger(label: "spectra.s3")
  ) throws {
    try configuration.validate()
    self.configuration = configuration
    self.credentials = credentials
    self.http = http
    self.logger = logger
  }

  // MARK: - Objects

  /// Stores `body` as `key`, with its SHA-256 checksum and the configured encryption.
  @discardableResult
  public func putObject(
    bucket: String,
    key: String,
    body: ByteBuffer,
    contentType: String? = nil,
    metadata: [String: String] = [:]
  ) async throws -> S3PutResult {
    let digest = SHA256.hash(data: body.readableBytesView)
    var headers = self.encryptionHeaders()
    headers += Self.checksumHeaders(digest)
    if let contentType { headers.append(("Content-Type", contentType)) }
    for (name, value) in metadata.sorted(by: { $0.key < $1.key }) { headers.append(("x-amz-meta-\(name)", value)) }
    let response = try await self.perform(
      S3Request(operation: "PutObject", method: .PUT, bucket: bucket, key: key, headers: headers, body: body, payloadHash: SigV4Signer.hex(digest))
    )
    let checksum = try self.checkEcho(response.headers, sent: digest, operation: "PutObject", key: key)
    return S3PutResult(etag: response.headers.first(name: "ETag") ?? "", checksumSHA256: checksum)
  }

  /// The whole object, or the bytes of `range` (inclusive offsets), read into memory; refuses
  /// more than `limit` bytes.
  public func getObject(
    bucket: String,
    key: String,
    range: ClosedRange<Int>? = nil,
    limit: Int = 1 << 30
  ) async throws -> S3Object {
    let stream = try await self.streamObject(bucket: bucket, key: key, range: range)
    let body = try await stream.body.collect(upTo: limit)
    return S3Object(info: stream.info, body: body)
  }

  /// The object (or the bytes of `range`) with its body still to be read, as a sequence of
  /// buffers: for large objects.
  public func streamObject(bucket: String, key: String, range: ClosedRange<Int>? = nil) async throws -> S3ObjectStream {
    var headers: [(String, String)] = []
    if let range { headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
    let response = try await self.perform(
      S3Request(operation: "GetObject", method: .GET, bucket: bucket, key: key, headers: headers),
      collect: false
    )
    return S3ObjectStream(info: S3ObjectInfo(key: key, headers: response.headers), body: response.stream!)
  }

  /// The object's size, ETag, encryption and checksum, without its body.
  public func headObject(bucket: String, key: String) async throws -> S3ObjectInfo {
    let response = try await self.perform(
      S3Request(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key, headers: [("x-amz-checksum-mode", "ENABLED")])
    )
    return S3ObjectInfo(key: key, headers: response.headers)
  }

  /// Deletes one object (no error when it does not exist).
  public func deleteObject(bucket: String, key: String) async throws {
    _ = try await self.perform(S3Request(operation: "DeleteObject", method: .DELETE, bucket: bucket, key: key))
  }

  /// Deletes `keys`, 1,000 per DeleteObjects request (S3's limit), and returns the keys S3 could
  /// not delete with its reasons.
  public func deleteObjects(bucket: String, keys: [String]) async throws -> [S3DeleteFailure] {
    var failures: [S3DeleteFailure] = []
    var start = 0
    while start < keys.count {
      let batch = keys[start..<min(start + 1000, keys.count)]
      start += batch.count
      var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
      for key in batch { xml += "<Object><Key>\(xmlEscaped(key))</Key></Object>" }
      xml += "</Delete>"
      let body = ByteBuffer(string: xml)
      let md5 = Data(Insecure.MD5.hash(data: body.readableBytesView)).base64EncodedString()
      let response = try await self.perform(
        S3Request(
          operation: "DeleteObjects", method: .POST, bucket: bucket, query: [("delete", "")],
          headers: [("Content-MD5", md5), ("Content-Type", "application/xml")], body: body, idempotent: true
        )
      )
      let document = try self.parse(response.body, operation: "DeleteObjects")
      for error in document.first("DeleteResult")?.all("Error") ?? [] {
        failures.append(
          S3DeleteFailure(key: error.text("Key") ?? "", code: error.text("Code") ?? "", message: error.text("Message") ?? "")
        )
      }
    }
    return failures
  }

  // MARK: - Listing

  /// One page of ListObjectsV2: up to `maxKeys` (1...1000) keys under `prefix`, from
  /// `continuationToken` (the previous page's ``S3ListPage/nextContinuationToken``).
  public func listObjectsPage(
    bucket: String,
    prefix: String? = nil,
    delimiter: String? = nil,
    continuationToken: String? = nil,
    maxKeys: Int = 1000
  ) async throws -> S3ListPage {
    guard (1...1000).contains(maxKeys) else { throw S3ClientError.invalidArgument("maxKeys \(maxKeys) is outside 1...1000") }
    var query: [(String, String)] = [("list-type", "2"), ("max-keys", String(maxKeys))]
    if let prefix { query.append(("prefix", prefix)) }
    if let delimiter { query.append(("delimiter", delimiter)) }
    if let continuationToken { query.append(("continuation-token", continuationToken)) }
    let response = try await self.perform(S3Request(operation: "ListObjectsV2", method: .GET, bucket: bucket, query: query))
    let document = try self.parse(response.body, operation: "ListObjectsV2")
    guard let result = document.first("ListBucketResult") else {
      throw S3ClientError.invalidResponse(operation: "ListObjectsV2", reason: "no ListBucketResult element")
    }
    let objects = result.all("Contents").map { item in
      S3ObjectSummary(
        key: item.text("Key") ?? "",
        size: item.text("Size").flatMap { Int($0) } ?? 0,
        etag: item.text("ETag") ?? "",
        lastModified: item.text("LastModified").flatMap(parseISO8601)
      )
    }
    let truncated = result.text("IsTruncated") == "true"
    let next = result.text("NextContinuationToken")
    if truncated && next == nil {
      throw S3ClientError.invalidResponse(operation: "ListObjectsV2", reason: "a truncated page without NextContinuationToken")
    }
    return S3ListPage(
      objects: objects,
      commonPrefixes: result.all("CommonPrefixes").compactMap { $0.text("Prefix") },
      nextContinuationToken: truncated ? next : nil
    )
  }

  /// Every object under `prefix`, page after page (`pageSize` keys a request).
  public func listObjects(bucket: String, prefix: String? = nil, pageSize: Int = 1000) async throws -> [S3ObjectSummary] {
    var objects: [S3ObjectSummary] = []
    var token: String?
    repeat {
      let page = try await self.listObjectsPage(bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: pageSize)
      objects += page.objects
      token = page.nextContinuationToken
    } while token != nil
    return objects
  }

  // MARK: - Multipart uploads

  /// Starts a multipart upload of `key` (with the configured encryption and SHA-256 part
  /// checksums) and returns its upload id.
  public func createMultipartUpload(bucket: String, key: String, contentType: String? = nil) async throws -> String {
    var headers = self.encryptionHeaders() + [("x-amz-checksum-algorithm", "SHA256")]
    if let contentType { headers.append(("Content-Type", contentType)) }
    let response = try await self.perform(
      S3Request(
        operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key, query: [("uploads", "")],
        headers: headers, idempotent: false
      )
    )
    let document = try self.parse(response.body, operation: "CreateMultipartUpload")
    guard let id = document.first("InitiateMultipartUploadResult")?.text("UploadId"), !id.isEmpty else {
      throw S3ClientError.invalidResponse(operation: "CreateMultipartUpload", reason: "no UploadId")
    }
    return id
  }

  /// Uploads part `partNumber` (1...10,000) of an upload. When it returns, S3 holds the part
  /// durably; sending the same number again replaces it.
  public func uploadPart(bucket: String, key: String, uploadID: String, partNumber: Int, body: ByteBuffer) async throws -> S3CompletedPart {
    guard (1...S3Configuration.maximumParts).contains(partNumber) else {
      throw S3ClientError.invalidArgument("partNumber \(partNumber) is outside 1...\(S3Configuration.maximumParts)")
    }
    let digest = SHA256.hash(data: body.readableBytesView)
    let response = try await self.perform(
      S3Request(
        operation: "UploadPart", method: .PUT, bucket: bucket, key: key,
        query: [("partNumber", String(partNumber)), ("uploadId", uploadID)],
        headers: Self.checksumHeaders(digest), body: body, payloadHash: SigV4Signer.hex(digest)
      )
    )
    guard let etag = response.headers.first(name: "ETag") else {
      throw S3ClientError.invalidResponse(operation: "UploadPart", reason: "no ETag for part \(partNumber)")
    }
    let checksum = try self.checkEcho(response.headers, sent: digest, operation: "UploadPart", key: key)
    return S3CompletedPart(partNumber: partNumber, etag: etag, checksumSHA256: checksum, size: body.readableBytes)
  }

  /// Completes an upload from its parts (sorted by number here) and returns the object's ETag.
  @discardableResult
  public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [S3CompletedPart]) async throws -> String {
    var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    for part in parts.sorted(by: { $0.partNumber < $1.partNumber }) {
      xml += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\(xmlEscaped(part.etag))</ETag>"
      if let checksum = part.checksumSHA256 { xml += "<ChecksumSHA256>\(checksum)</ChecksumSHA256>" }
      xml += "</Part>"
    }
    xml += "</CompleteMultipartUpload>"
    let response = try await self.perform(
      S3Request(
        operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key, query: [("uploadId", uploadID)],
        headers: [("Content-Type", "application/xml")], body: ByteBuffer(string: xml), idempotent: false
      )
    )
    // S3 may answer 200 with an <Error> document once the connection is established.
    let document = try self.parse(response.body, operation: "CompleteMultipartUpload")
    if let error = document.first("Error") {
      throw S3Error(
        code: error.text("Code") ?? "InternalError", message: error.text("Message") ?? "", status: 200,
        requestID: error.text("RequestId"), hostID: error.text("HostId"), operation: "CompleteMultipartUpload",
        bucket: bucket, key: key
      )
    }
    // AWS names the answer CompleteMultipartUploadResult; moto CompleteMultipartUploadResponse.
    let result = document.first("CompleteMultipartUploadResult") ?? document.first("CompleteMultipartUploadResponse")
    return result?.text("ETag") ?? ""
  }

  /// Abandons an upload and frees its parts.
  public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
    _ = try await self.perform(
      S3Request(operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key, query: [("uploadId", uploadID)])
    )
  }

  /// The multipart uploads in progress under `prefix` (the first 1,000).
  public func listMultipartUploads(bucket: String, prefix: String? = nil) async throws -> [S3MultipartUpload] {
    var query: [(String, String)] = [("uploads", "")]
    if let prefix { query.append(("prefix", prefix)) }
    let response = try await self.perform(S3Request(operation: "ListMultipartUploads", method: .GET, bucket: bucket, query: query))
    let document = try self.parse(response.body, operation: "ListMultipartUploads")
    return (document.first("ListMultipartUploadsResult")?.all("Upload") ?? []).map {
      S3MultipartUpload(key: $0.text("Key") ?? "", uploadID: $0.text("UploadId") ?? "")
    }
  }

  /// Uploads everything `source` yields as `key`: one PutObject when it fits in one part, else a
  /// multipart upload with up to ``S3Configuration/partConcurrency`` parts in flight (so at most
  /// that many parts, plus the one being filled, in memory). When a part or the source fails, the
  /// upload is aborted and the error rethrown.
  @discardableResult
  public func upload<Source: AsyncSequence>(
    bucket: String,
    key: String,
    from source: Source,
    contentType: String? = nil
  ) async throws -> String where Source.Element == ByteBuffer {
    let partSize = self.configuration.partSize
    var iterator = source.makeAsyncIterator()
    var pending = ByteBuffer()
    // Reads up to one part; `nil` at the end of the source with nothing left.
    func nextPart() async throws -> ByteBuffer? {
      while pending.readableBytes < partSize, var chunk = try await iterator.next() {
        pending.writeBuffer(&chunk)
      }
      guard pending.readableBytes > 0 else { return nil }
      let part = pending.readSlice(length: min(partSize, pending.readableBytes))!
      pending.discardReadBytes()
      return part
    }
    guard let first = try await nextPart() else {
      return try await self.putObject(bucket: bucket, key: key, body: ByteBuffer(), contentType: contentType).etag
    }
    guard let second = try await nextPart() else {
      return try await self.putObject(bucket: bucket, key: key, body: first, contentType: contentType).etag
    }
    let uploadID = try await self.createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
    do {
      let parts = try await withThrowingTaskGroup(of: S3CompletedPart.self) { group in
        var parts: [S3CompletedPart] = []
        var number = 0
        var inFlight = 0
        var next: ByteBuffer? = first
        var queued: ByteBuffer? = second
        while let body = next {
          number += 1
          guard number <= S3Configuration.maximumParts else {
            throw S3ClientError.invalidArgument(
              "the upload of \(key) needs more than \(S3Configuration.maximumParts) parts of \(partSize) bytes; raise partSize"
            )
          }
          if inFlight == self.configuration.partConcurrency, let done = try await group.next() {
            parts.append(done)
            inFlight -= 1
          }
          let partNumber = number
          group.addTask { try await self.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: partNumber, body: body) }
          inFlight += 1
          if let waiting = queued {
            next = waiting
            queued = nil
          } else {
            next = try await nextPart()
          }
        }
        for try await done in group { parts.append(done) }
        return parts
      }
      return try await self.completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
    } catch {
      do {
        try await self.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID)
      } catch let abortError {
        self.logger.warning(
          "cannot abort a failed multipart upload",
          metadata: ["bucket": "\(bucket)", "key": "\(key)", "upload": "\(uploadID)", "error": "\(abortError)"]
        )
      }
      throw error
    }
  }

  // MARK: - Buckets

  /// Creates `bucket` in the configured region.
  public func createBucket(_ bucket: String) async throws {
    var body: ByteBuffer?
    if self.configuration.region != "us-east-1" {
      body = ByteBuffer(
        string: "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
          + "\(xmlEscaped(self.configuration.region))</LocationConstraint></CreateBucketConfiguration>"
      )
    }
    _ = try await self.perform(S3Request(operation: "CreateBucket", method: .PUT, bucket: bucket, body: body))
  }

  // MARK: - Presigning

  /// A URL that lets its holder make one `method` request on `key` for `expires` seconds
  /// (1...604,800) without credentials: a GET to download, a PUT to upload.
  public func presignedURL(method: String, bucket: String, key: String, expires: Int, date: Date = Date()) async throws -> String {
    guard (1...604_800).contains(expires) else { throw S3ClientError.invalidArgument("expires \(expires) is outside 1...604800 seconds") }
    let location = self.location(bucket: bucket, key: key)
    let signer = SigV4Signer(credentials: try await self.credentials.credentials(), region: self.configuration.region, service: "s3")
    let query = signer.presignedQuery(
      method: method, path: location.path, query: [], headers: [("Host", location.host)], date: date, expires: expires
    )
    return location.base + SigV4Signer.canonicalPath(location.path) + "?" + SigV4Signer.canonicalQuery(query)
  }

  // MARK: - Requests

  /// Where a request goes: the URL up to the path, the `Host` header, and the path before
  /// encoding.
  package func location(bucket: String, key: String?) -> (base: String, host: String, path: String) {
    let endpoint = self.configuration.endpoint
    let scheme = endpoint.scheme ?? "https"
    var host = endpoint.host ?? ""
    if host.contains(":") { host = "[\(host)]" }
    let port = endpoint.port.flatMap { (scheme == "https" && $0 == 443) || (scheme == "http" && $0 == 80) ? nil : $0 }
    var path: String
    switch self.configuration.addressing {
    case .path:
      path = "/\(bucket)"
      if let key { path += "/\(key)" }
    case .virtualHosted:
      host = "\(bucket).\(host)"
      path = "/\(key ?? "")"
    }
    let authority = host + (port.map { ":\($0)" } ?? "")
    return ("\(scheme)://\(authority)", authority, path)
  }

  func encryptionHeaders() -> [(String, String)] {
    switch self.configuration.encryption {
    case nil: []
    case .s3: [("x-amz-server-side-encryption", "AES256")]
    case .kms(let keyID):
      [("x-amz-server-side-encryption", "aws:kms")] + (keyID.map { [("x-amz-server-side-encryption-aws-kms-key-id", $0)] } ?? [])
    }
  }

  static func checksumHeaders(_ digest: SHA256.Digest) -> [(String, String)] {
    [("x-amz-sdk-checksum-algorithm", "SHA256"), ("x-amz-checksum-sha256", Data(digest).base64EncodedString())]
  }

  /// The checksum the store recorded, checked against the one sent.
  func checkEcho(_ headers: HTTPHeaders, sent digest: SHA256.Digest, operation: String, key: String) throws -> String {
    let sent = Data(digest).base64EncodedString()
    if let received = headers.first(name: "x-amz-checksum-sha256"), received != sent {
      throw S3ClientError.checksumMismatch(operation: operation, key: key, sent: sent, received: received)
    }
    return sent
  }

  func parse(_ body: ByteBuffer, operation: String) throws -> XMLNode {
    do {
      return try XMLNode.parse(body)
    } catch {
      throw S3ClientError.invalidResponse(operation: operation, reason: "the body is not XML (\(body.readableBytes) bytes)")
    }
  }

  /// One request as the operations describe it.
  struct S3Request {
    var operation: String
    var method: HTTPMethod
    var bucket: String
    var key: String? = nil
    var query: [(String, String)] = []
    var headers: [(String, String)] = []
    var body: ByteBuffer? = nil
    /// The payload's SHA-256, when the caller has it already.
    var payloadHash: String? = nil
    /// Whether a connection error may be followed by a new attempt; `nil`: by the method.
    var idempotent: Bool? = nil
  }

  /// An answer: its head, and either its whole body or the body still to read.
  struct Answer {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer
    var stream: HTTPClientResponse.Body?
  }

  /// Signs and sends `request`, retrying as the type's documentation says; an error answer
  /// becomes an ``S3Error``.
  func perform(_ request: S3Request, collect: Bool = true) async throws -> Answer {
    let location = self.location(bucket: request.bucket, key: request.key)
    let query = SigV4Signer.canonicalQuery(request.query)
    let url = location.base + SigV4Signer.canonicalPath(location.path) + (query.isEmpty ? "" : "?" + query)
    let payloadHash = request.payloadHash ?? request.body.map { SigV4Signer.sha256Hex($0.readableBytesView) } ?? SigV4Signer.emptyPayloadHash
    let idempotent = request.idempotent ?? [HTTPMethod.GET, .HEAD, .PUT, .DELETE].contains(request.method)
    let retry = self.configuration.retry
    var attempt = 0
    while true {
      attempt += 1
      let credentials = try await self.credentials.credentials()
      let signer = SigV4Signer(credentials: credentials, region: self.configuration.region, service: "s3")
      var headers = request.headers + [("Host", location.host)]
      if let body = request.body { headers.append(("Content-Length", String(body.readableBytes))) }
      headers += signer.signatureHeaders(
        method: request.method.rawValue, path: location.path, query: request.query, headers: headers,
        payloadHash: payloadHash, date: Date(), contentHashHeader: true
      )
      var http = HTTPClientRequest(url: url)
      http.method = request.method
      http.headers = HTTPHeaders(headers)
      if let body = request.body { http.body = .bytes(body) }
      let response: HTTPClientResponse
      do {
        response = try await self.http.client.execute(http, timeout: self.timeAmount(self.configuration.requestTimeout))
      } catch {
        try Task.checkCancellation()
        guard idempotent, attempt < retry.maxAttempts else {
          throw S3ClientError.transport(operation: request.operation, attempts: attempt, reason: "\(error)")
        }
        self.logger.debug(
          "S3 request failed; retrying",
          metadata: ["operation": "\(request.operation)", "attempt": "\(attempt)", "error": "\(error)"]
        )
        try await Task.sleep(for: retry.delay(afterAttempt: attempt))
        continue
      }
      let status = Int(response.status.code)
      if (200..<300).contains(status) {
        if !collect { return Answer(status: status, headers: response.headers, body: ByteBuffer(), stream: response.body) }
        do {
          let body = try await response.body.collect(upTo: 64 << 20)
          return Answer(status: status, headers: response.headers, body: body, stream: nil)
        } catch {
          throw S3ClientError.transport(operation: request.operation, attempts: attempt, reason: "reading the answer: \(error)")
        }
      }
      let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
      let error = Self.error(status: status, headers: response.headers, body: body, request: request)
      guard error.isRetryable, attempt < retry.maxAttempts else { throw error }
      self.logger.debug(
        "S3 request refused; retrying",
        metadata: ["operation": "\(request.operation)", "attempt": "\(attempt)", "status": "\(status)", "code": "\(error.code)"]
      )
      try await Task.sleep(for: retry.delay(afterAttempt: attempt))
    }
  }

  static func error(status: Int, headers: HTTPHeaders, body: ByteBuffer, request: S3Request) -> S3Error {
    let document = body.readableBytes > 0 ? (try? XMLNode.parse(body))?.first("Error") : nil
    return S3Error(
      code: document?.text("Code") ?? (status == 404 ? "NotFound" : "HTTP \(status)"),
      message: document?.text("Message") ?? "",
      status: status,
      requestID: headers.first(name: "x-amz-request-id") ?? document?.text("RequestId"),
      hostID: headers.first(name: "x-amz-id-2") ?? document?.text("HostId"),
      operation: request.operation,
      bucket: request.bucket,
      key: request.key
    )
  }

  func timeAmount(_ duration: Duration) -> TimeAmount {
    .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
  }
}
