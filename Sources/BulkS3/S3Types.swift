public import AsyncHTTPClient
public import Foundation
public import NIOCore
internal import NIOHTTP1

/// What PutObject answered.
public struct S3PutResult: Sendable {
  /// The object's ETag, quotes included.
  public var etag: String
  /// The base64 SHA-256 the object was stored with.
  public var checksumSHA256: String
}

/// A part of a multipart upload that S3 holds.
public struct S3CompletedPart: Sendable, Equatable {
  /// The part's number, 1...10,000.
  public var partNumber: Int
  /// The part's ETag.
  public var etag: String
  /// The part's base64 SHA-256.
  public var checksumSHA256: String?
  /// The part's size in bytes.
  public var size: Int

  /// A part from what UploadPart answered (or what ListParts lists).
  public init(partNumber: Int, etag: String, checksumSHA256: String?, size: Int) {
    self.partNumber = partNumber
    self.etag = etag
    self.checksumSHA256 = checksumSHA256
    self.size = size
  }
}

/// A multipart upload in progress.
public struct S3MultipartUpload: Sendable, Equatable {
  /// Its key.
  public var key: String
  /// Its upload id.
  public var uploadID: String
}

/// An object's metadata, from the head of a GetObject or HeadObject answer.
public struct S3ObjectInfo: Sendable {
  /// The key.
  public var key: String
  /// The length of this answer's body (of the range, for a ranged GET).
  public var contentLength: Int
  /// The object's ETag.
  public var etag: String
  /// `Content-Range` of a ranged GET, `bytes 0-9/1000`.
  public var contentRange: String?
  /// `Content-Type`.
  public var contentType: String?
  /// `AES256` or `aws:kms`, when the object is encrypted at rest.
  public var serverSideEncryption: String?
  /// The KMS key of SSE-KMS.
  public var kmsKeyID: String?
  /// The base64 SHA-256 the object was stored with, when the store reports it.
  public var checksumSHA256: String?
  /// The `x-amz-meta-*` metadata, by name without the prefix.
  public var metadata: [String: String]

  init(key: String, headers: HTTPHeaders) {
    self.key = key
    self.contentLength = headers.first(name: "Content-Length").flatMap { Int($0) } ?? 0
    self.etag = headers.first(name: "ETag") ?? ""
    self.contentRange = headers.first(name: "Content-Range")
    self.contentType = headers.first(name: "Content-Type")
    self.serverSideEncryption = headers.first(name: "x-amz-server-side-encryption")
    self.kmsKeyID = headers.first(name: "x-amz-server-side-encryption-aws-kms-key-id")
    self.checksumSHA256 = headers.first(name: "x-amz-checksum-sha256")
    var metadata: [String: String] = [:]
    for (name, value) in headers where name.lowercased().hasPrefix("x-amz-meta-") {
      metadata[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
    }
    self.metadata = metadata
  }
}

/// An object read into memory.
public struct S3Object: Sendable {
  /// Its metadata.
  public var info: S3ObjectInfo
  /// Its bytes (of the range asked for).
  public var body: ByteBuffer
}

/// An object whose body is still to be read.
public struct S3ObjectStream: Sendable {
  /// Its metadata.
  public var info: S3ObjectInfo
  /// Its bytes, as they arrive.
  public var body: HTTPClientResponse.Body
}

/// One entry of a listing.
public struct S3ObjectSummary: Sendable, Equatable {
  /// The key.
  public var key: String
  /// The size in bytes.
  public var size: Int
  /// The ETag.
  public var etag: String
  /// When it was last written.
  public var lastModified: Date?
}

/// One page of ListObjectsV2.
public struct S3ListPage: Sendable {
  /// The objects of this page, in key order.
  public var objects: [S3ObjectSummary]
  /// The common prefixes, when listed with a delimiter.
  public var commonPrefixes: [String]
  /// The token of the next page; `nil` on the last.
  public var nextContinuationToken: String?
}

/// A key DeleteObjects could not delete.
public struct S3DeleteFailure: Sendable, Equatable {
  /// The key.
  public var key: String
  /// S3's error code.
  public var code: String
  /// S3's message.
  public var message: String
}
