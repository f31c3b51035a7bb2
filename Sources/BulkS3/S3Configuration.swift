public import Foundation

/// Where and how the client talks to S3.
public struct S3Configuration: Sendable {
  /// How the bucket appears in a request.
  public enum Addressing: Sendable, Equatable {
    /// `https://endpoint/bucket/key`: what most S3-compatible stores (MinIO, moto, Ceph) expect.
    case path
    /// `https://bucket.endpoint/key`: AWS's default; needs a bucket name that is a valid DNS label
    /// without dots for TLS.
    case virtualHosted
  }

  /// Server-side encryption asked for on every object written.
  public enum Encryption: Sendable, Equatable {
    /// SSE-S3: `x-amz-server-side-encryption: AES256`.
    case s3
    /// SSE-KMS: `aws:kms`, with the key id or ARN, or the account's default key when `nil`.
    case kms(keyID: String?)
  }

  /// Retries of a failed request.
  public struct Retry: Sendable {
    /// Attempts in all, the first included (at least 1).
    public var maxAttempts: Int
    /// The cap of the first backoff; each further one doubles, up to ``maxDelay``.
    public var baseDelay: Duration
    /// The largest backoff.
    public var maxDelay: Duration

    /// A policy; the default is 5 attempts, 100 ms doubling up to 20 s, with full jitter.
    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20)) {
      self.maxAttempts = max(1, maxAttempts)
      self.baseDelay = baseDelay
      self.maxDelay = maxDelay
    }

    /// Full jitter: a uniformly random wait between zero and the capped exponential backoff of
    /// attempt `attempt` (1 for the wait after the first attempt).
    package func delay(afterAttempt attempt: Int) -> Duration {
      let base = Double(self.baseDelay.components.seconds) + Double(self.baseDelay.components.attoseconds) / 1e18
      let cap = Double(self.maxDelay.components.seconds) + Double(self.maxDelay.components.attoseconds) / 1e18
      let ceiling = min(cap, base * pow(2, Double(min(attempt - 1, 40))))
      return .nanoseconds(Int64(Double.random(in: 0...ceiling) * 1e9))
    }
  }

  /// The region requests are signed for.
  public var region: String
  /// The endpoint, `https://s3.<region>.amazonaws.com` unless set: `http://127.0.0.1:9000` for an
  /// S3-compatible store.
  public var endpoint: URL
  /// Path-style or virtual-hosted requests.
  public var addressing: Addressing
  /// Server-side encryption for the objects written, or none (the bucket's default applies).
  public var encryption: Encryption?
  /// Retries of failed requests.
  public var retry: Retry
  /// The size of a multipart upload's parts, 5 MiB to 5 GiB.
  public var partSize: Int
  /// How many parts of one multipart upload are sent at the same time.
  public var partConcurrency: Int
  /// The deadline of one attempt of one request.
  public var requestTimeout: Duration

  /// A configuration for `region`. Without `endpoint`, AWS's regional endpoint and virtual-hosted
  /// addressing; with one, path-style addressing unless `addressing` says otherwise.
  public init(
    region: String,
    endpoint: URL? = nil,
    addressing: Addressing? = nil,
    encryption: Encryption? = nil,
    retry: Retry = Retry(),
    partSize: Int = 8 << 20,
    partConcurrency: Int = 4,
    requestTimeout: Duration = .seconds(300)
  ) {
    self.region = region
    self.endpoint = endpoint ?? URL(string: "https://s3.\(region).amazonaws.com")!
    self.addressing = addressing ?? (endpoint == nil ? .virtualHosted : .path)
    self.encryption = encryption
    self.retry = retry
    self.partSize = partSize
    self.partConcurrency = partConcurrency
    self.requestTimeout = requestTimeout
  }

  /// The smallest part S3 accepts (but for the last one).
  public static let minimumPartSize = 5 << 20
  /// The largest part.
  public static let maximumPartSize = 5 << 30
  /// The most parts of one upload.
  public static let maximumParts = 10_000

  /// Checks the bounds, naming the setting out of them.
  public func validate() throws {
    guard (Self.minimumPartSize...Self.maximumPartSize).contains(self.partSize) else {
      throw S3ClientError.invalidArgument("partSize \(self.partSize) is outside \(Self.minimumPartSize)...\(Self.maximumPartSize) bytes")
    }
    guard (1...64).contains(self.partConcurrency) else {
      throw S3ClientError.invalidArgument("partConcurrency \(self.partConcurrency) is outside 1...64")
    }
    guard let scheme = self.endpoint.scheme, ["http", "https"].contains(scheme), self.endpoint.host != nil else {
      throw S3ClientError.invalidArgument("endpoint \(self.endpoint) is not an http or https URL with a host")
    }
    guard !self.region.isEmpty else { throw S3ClientError.invalidArgument("region is empty") }
  }
}
