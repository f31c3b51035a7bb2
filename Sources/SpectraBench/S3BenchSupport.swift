internal import BulkTestSupport
internal import Foundation
internal import NIOCore

#if canImport(Glibc)
internal import Glibc
#endif

/// One way of uploading in `spectra-bench s3`: which client, with which part size and how many
/// parts in flight.
struct S3BenchCase: Sendable, Hashable {
  /// Our `S3Client`, or boto3's `upload_file`.
  enum Client: String, Sendable, Hashable {
    case ours
    case boto3
  }

  var client: Client
  /// The part size in MiB.
  var partMiB: Int
  /// Parts in flight.
  var concurrency: Int
  /// boto3 with its default `TransferConfig`, which is also `aws s3 cp`'s: 8 MiB parts, 10
  /// threads (``partMiB`` and ``concurrency`` say so, and are not passed).
  var boto3Defaults = false
  /// boto3 asked for SHA-256 part checksums (`ChecksumAlgorithm`), as our client sends, instead
  /// of its default CRC32: the same work on both sides, moto's included.
  var boto3SHA256 = false

  /// `ours 8 MiB x 4`.
  var name: String {
    "\(self.client.rawValue) \(self.partMiB) MiB x \(self.concurrency)"
      + (self.boto3Defaults ? " (its defaults, aws s3 cp's)" : "") + (self.boto3SHA256 ? " SHA-256 (as ours)" : "")
  }

  /// Parses `PARTxCONCURRENCY` (`16x4`), naming the entry it cannot read.
  static func parse(_ text: String, client: Client) throws -> S3BenchCase {
    let fields = text.split(separator: "x").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard fields.count == 2, fields[0] >= 5, (1...64).contains(fields[1]) else {
      throw S3BenchError(
        message: "--sweep entry \"\(text)\" is not PARTxCONCURRENCY with a part of at least 5 MiB and 1...64 in flight"
      )
    }
    return S3BenchCase(client: client, partMiB: fields[0], concurrency: fields[1])
  }
}

/// A failure of the S3 benchmark, with what failed.
struct S3BenchError: Error, CustomStringConvertible {
  var message: String
  var description: String { self.message }
}

/// The bytes uploaded: a file of pseudo-random (incompressible) bytes, written once and read by
/// both clients, as `aws s3 cp` reads a file.
struct S3BenchData: Sendable {
  /// The file.
  let path: String
  /// Its size in bytes.
  let size: Int

  /// Writes `size` bytes from a SplitMix64 generator to `path`, 8 MiB at a time.
  static func write(size: Int, to path: String) throws -> S3BenchData {
    guard FileManager.default.createFile(atPath: path, contents: nil) else {
      throw S3BenchError(message: "cannot create the data file \(path)")
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var state: UInt64 = 0x5EC7_4A00_B0C5_2026
    var written = 0
    while written < size {
      let count = min(8 << 20, size - written)
      var block = [UInt8](repeating: 0, count: (count + 7) & ~7)
      block.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for index in words.indices {
          state &+= 0x9E37_79B9_7F4A_7C15
          var mixed = state
          mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
          mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
          words[index] = mixed ^ (mixed >> 31)
        }
      }
      try handle.write(contentsOf: block[0..<count])
      written += count
    }
    return S3BenchData(path: path, size: size)
  }

  /// `length` bytes from `offset`, to compare with a ranged read of the uploaded object.
  func bytes(at offset: Int, length: Int) throws -> [UInt8] {
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: self.path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    return [UInt8](try handle.read(upToCount: length) ?? Data())
  }

  /// The file as a sequence of `chunkSize` buffers, read as the upload asks for them.
  func chunks(of chunkSize: Int = 1 << 20) -> FileChunks { FileChunks(path: self.path, chunkSize: chunkSize) }

  /// A file read front to back in chunks (from the page cache, as it was just written).
  struct FileChunks: AsyncSequence {
    typealias Element = ByteBuffer
    let path: String
    let chunkSize: Int

    func makeAsyncIterator() -> Iterator { Iterator(path: self.path, chunkSize: self.chunkSize) }

    struct Iterator: AsyncIteratorProtocol {
      let path: String
      let chunkSize: Int
      var handle: FileHandle?
      var done = false

      init(path: String, chunkSize: Int) {
        self.path = path
        self.chunkSize = chunkSize
      }

      mutating func next() async throws -> ByteBuffer? {
        guard !self.done else { return nil }
        if self.handle == nil { self.handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: self.path)) }
        guard let data = try self.handle?.read(upToCount: self.chunkSize), !data.isEmpty else {
          try self.handle?.close()
          self.done = true
          return nil
        }
        return ByteBuffer(bytes: data)
      }
    }
  }
}

/// boto3's `upload_file` in a `python3` child process, against the same endpoint with the same
/// keys; the child times only the `upload_file` call and prints its seconds and the CPU seconds
/// the process spent meanwhile.
enum Boto3Upload {
  /// The child's program: argv is endpoint, bucket, key, file, part size in bytes (0: boto3's
  /// default `TransferConfig`, which is also `aws s3 cp`'s: 8 MiB parts, 10 threads),
  /// concurrency and the checksum algorithm (empty: boto3's default, CRC32); the keys come in the
  /// environment.
  static let script = """
    import os, sys, time
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    endpoint, bucket, key, path, part, concurrency, checksum = sys.argv[1:8]
    part, concurrency = int(part), int(concurrency)
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=os.environ["SPECTRA_BENCH_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["SPECTRA_BENCH_SECRET_ACCESS_KEY"],
        config=Config(max_pool_connections=max(10, concurrency)))
    if part == 0:
        transfer = TransferConfig()
    else:
        transfer = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=concurrency)
    start, cpu = time.perf_counter(), time.process_time()
    client.upload_file(path, bucket, key, Config=transfer, ExtraArgs={"ChecksumAlgorithm": checksum} if checksum else {})
    print(time.perf_counter() - start, time.process_time() - cpu)
    """

  /// Uploads `data` as `key` and returns the seconds `upload_file` took and the CPU seconds of
  /// the child meanwhile; `partBytes` 0 uses boto3's default transfer settings, `sha256` asks
  /// for SHA-256 part checksums.
  static func run(
    endpoint: String,
    accessKeyID: String,
    secretAccessKey: String,
    bucket: String,
    key: String,
    data: S3BenchData,
    partBytes: Int,
    concurrency: Int,
    sha256: Bool
  ) async throws -> S3BenchTiming {
    let python = try ExternalCommand.program(named: "python3", debianPackage: "python3")
    let command = ExternalCommand(
      arguments: [
        python, "-c", Self.script, endpoint, bucket, key, data.path, String(partBytes), String(concurrency),
        sha256 ? "SHA256" : "",
      ],
      directory: "/",
      environment: ["SPECTRA_BENCH_ACCESS_KEY_ID": accessKeyID, "SPECTRA_BENCH_SECRET_ACCESS_KEY": secretAccessKey]
    )
    // The child is awaited with a blocking waitpid: on a thread of its own.
    let output = try await withCheckedThrowingContinuation { continuation in
      Thread.detachNewThread { continuation.resume(with: Result { try command.check() }) }
    }
    let fields = output.split(whereSeparator: \.isNewline).last?.split(separator: " ").compactMap { Double($0) } ?? []
    guard fields.count == 2, fields[0] > 0 else {
      throw S3BenchError(message: "boto3's upload of \(key) printed \"\(output)\", not its seconds and CPU seconds")
    }
    return S3BenchTiming(seconds: fields[0], cpuSeconds: fields[1])
  }
}

/// How long one upload took, and the CPU time its client spent meanwhile (all its threads).
struct S3BenchTiming: Sendable {
  var seconds: Double
  var cpuSeconds: Double
}

/// The CPU seconds (user and system, all threads) this process has used.
func processCPUSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// The figures of `spectra-bench s3`, written by `--json`.
struct S3BenchReport: Encodable {
  /// One case's figures.
  struct Case: Encodable {
    var name: String
    var client: String
    var partMib: Int
    var concurrency: Int
    /// boto3's own default `TransferConfig` (that of `aws s3 cp`).
    var boto3Defaults: Bool
    /// boto3 with SHA-256 part checksums, as ours, rather than its default CRC32.
    var boto3Sha256: Bool
    var megabytesPerSecond: [Double]
    var medianMegabytesPerSecond: Double
    /// The client's CPU seconds during each upload (the python process's for boto3).
    var cpuSeconds: [Double]
    var medianCpuSeconds: Double
  }

  var bytes: Int
  var rounds: Int
  var cases: [Case]
  /// Our default's median over boto3's with the same part size and concurrency.
  var ratioOursToBoto3SameSettings: Double
  /// The same, boto3 sending SHA-256 checksums as ours does.
  var ratioOursToBoto3SameSettingsSha256: Double
  /// Our default's median over boto3's with its own defaults.
  var ratioOursToBoto3Defaults: Double
  /// Our fastest case.
  var bestOurs: String
  /// Our default's median over our fastest case's.
  var ratioDefaultToBestOurs: Double

  /// Pretty-printed JSON with snake_case keys.
  func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try encoder.encode(self)
  }
}
