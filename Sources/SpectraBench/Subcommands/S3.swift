internal import ArgumentParser
internal import BulkCore
internal import BulkS3
internal import BulkTestSupport
internal import Foundation
internal import NIOCore

/// `spectra-bench s3`: multipart upload throughput of our `S3Client` into moto on loopback (with
/// signatures checked), beside boto3's `upload_file` in the same run: once with our part size and
/// concurrency (with its default CRC32 checksums, and with SHA-256 ones as ours sends), and once
/// with boto3's defaults (those of `aws s3 cp`: 8 MiB parts, 10 threads).
///
/// Every case uploads the same file of incompressible bytes; rounds alternate the order of the
/// cases. Each upload is checked before it counts (HeadObject's size and multipart ETag, and a
/// ranged read compared with the file) and then deleted, since moto keeps objects in memory.
/// A sweep of other part sizes and concurrencies of our client shows what the default gives
/// against the best of them. Beside each rate is the CPU time the client spent during the upload
/// (for boto3, its python process's): on loopback moto, a Python server, sets the pace, and the
/// CPU time is what the client itself costs.
struct S3: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "S3 multipart upload throughput to moto on loopback: our client against boto3's upload_file."
  )

  @Option(help: "MiB uploaded by each case.")
  var mib = 512

  @Option(help: "Rounds of each case (at least 1); medians are reported.")
  var rounds = 3

  @Option(help: "Other part sizes and concurrencies of our client, as PART_MIBxCONCURRENCY, comma separated; empty for none.")
  var sweep = "16x4,8x8,16x8"

  @Option(help: "Also write the figures to this file as JSON.")
  var json: String?

  func validate() throws {
    guard self.mib >= 1 else { throw ValidationError("--mib \(self.mib) is below 1") }
    guard self.rounds >= 1 else { throw ValidationError("--rounds \(self.rounds) is below 1") }
  }

  func run() async throws {
    let defaults = S3Configuration(region: "us-east-1")
    let ours = S3BenchCase(client: .ours, partMiB: defaults.partSize >> 20, concurrency: defaults.partConcurrency)
    var cases = [
      ours,
      S3BenchCase(client: .boto3, partMiB: ours.partMiB, concurrency: ours.concurrency),
      S3BenchCase(client: .boto3, partMiB: ours.partMiB, concurrency: ours.concurrency, boto3SHA256: true),
      S3BenchCase(client: .boto3, partMiB: 8, concurrency: 10, boto3Defaults: true),
    ]
    for entry in self.sweep.split(separator: ",") {
      let swept = try S3BenchCase.parse(String(entry), client: .ours)
      if !cases.contains(swept) { cases.append(swept) }
    }

    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-bench-s3-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let data = try S3BenchData.write(size: self.mib << 20, to: scratch.appendingPathComponent("upload.bin").path)

    let moto = try await MotoServer.launch()
    defer { moto.stop() }
    let bucket = "spectra-bench-s3"
    try await Self.withClient(moto, partMiB: ours.partMiB, concurrency: ours.concurrency) { try await $0.createBucket(bucket) }
    // moto's first large upload is slower than the next ones, whichever client makes it: one
    // that does not count.
    _ = try await Self.upload(ours, key: "bench/warm-up", bucket: bucket, data: data, moto: moto)
    try await Self.verify(key: "bench/warm-up", bucket: bucket, data: data, partMiB: ours.partMiB, moto: moto)

    print("S3 upload of \(data.size) bytes (\(self.mib) MiB) to moto at \(moto.endpoint), signatures checked; MB/s of 10^6 bytes")
    var rates: [S3BenchCase: [Double]] = [:]
    var cpu: [S3BenchCase: [Double]] = [:]
    for round in 0..<self.rounds {
      for (index, benchCase) in (round % 2 == 0 ? cases : cases.reversed()).enumerated() {
        let key = "bench/round-\(round)/\(index)"
        let timing = try await Self.upload(benchCase, key: key, bucket: bucket, data: data, moto: moto)
        try await Self.verify(key: key, bucket: bucket, data: data, partMiB: benchCase.partMiB, moto: moto)
        let rate = Double(data.size) / timing.seconds / 1e6
        rates[benchCase, default: []].append(rate)
        cpu[benchCase, default: []].append(timing.cpuSeconds)
        print(
          "round \(round + 1)  \(Self.padded(benchCase.name))"
            + String(format: " %8.1f MB/s  client CPU %6.2f s", rate, timing.cpuSeconds)
        )
      }
    }

    let medians = cases.map { rates[$0]?.median ?? 0 }
    let cpuMedians = cases.map { cpu[$0]?.median ?? 0 }
    print("\nmedians of \(self.rounds) round(s)")
    for index in cases.indices {
      print(
        "  \(Self.padded(cases[index].name))" + String(format: " %8.1f MB/s  client CPU %6.2f s", medians[index], cpuMedians[index])
      )
    }
    let sameSettings = medians[0] / medians[1]
    let sameSettingsSHA256 = medians[0] / medians[2]
    let boto3Defaults = medians[0] / medians[3]
    let oursIndices = cases.indices.filter { cases[$0].client == .ours }
    let best = oursIndices.max { medians[$0] < medians[$1] }!
    print(String(format: "ours / boto3 with the same settings:          %.2fx (higher is better for us)", sameSettings))
    print(String(format: "ours / boto3 with the same settings, SHA-256: %.2fx", sameSettingsSHA256))
    print(String(format: "ours / boto3 with its defaults:               %.2fx", boto3Defaults))
    print(
      String(
        format: "our default (%@) gives %.0f%% of our best case (%@)",
        ours.name as NSString, medians[0] / medians[best] * 100, cases[best].name as NSString
      )
    )

    if let json = self.json {
      let report = S3BenchReport(
        bytes: data.size,
        rounds: self.rounds,
        cases: cases.indices.map { index in
          let benchCase = cases[index]
          return S3BenchReport.Case(
            name: benchCase.name, client: benchCase.client.rawValue, partMib: benchCase.partMiB,
            concurrency: benchCase.concurrency, boto3Defaults: benchCase.boto3Defaults, boto3Sha256: benchCase.boto3SHA256,
            megabytesPerSecond: rates[benchCase]!, medianMegabytesPerSecond: medians[index],
            cpuSeconds: cpu[benchCase]!, medianCpuSeconds: cpuMedians[index]
          )
        },
        ratioOursToBoto3SameSettings: sameSettings,
        ratioOursToBoto3SameSettingsSha256: sameSettingsSHA256,
        ratioOursToBoto3Defaults: boto3Defaults,
        bestOurs: cases[best].name,
        ratioDefaultToBestOurs: medians[0] / medians[best]
      )
      try report.json().write(to: URL(fileURLWithPath: json))
      print("wrote \(json)")
    }
  }

  /// Runs `body` with a client of `moto` (the IAM user's keys) on a transport of its own, so
  /// that each upload opens its connections as boto3's process does.
  private static func withClient<T>(
    _ moto: MotoServer,
    partMiB: Int,
    concurrency: Int,
    _ body: (S3Client) async throws -> T
  ) async throws -> T {
    let http = S3HTTPTransport()
    do {
      let client = try S3Client(
        configuration: S3Configuration(
          region: "us-east-1", endpoint: URL(string: moto.endpoint)!, partSize: partMiB << 20, partConcurrency: concurrency
        ),
        credentials: S3StaticCredentials(S3Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)),
        http: http
      )
      let result = try await body(client)
      try await http.shutdown()
      return result
    } catch {
      try? await http.shutdown()
      throw error
    }
  }

  /// Uploads `data` as `key` with `benchCase`'s client and settings: the seconds of the upload
  /// alone, and the client's CPU seconds meanwhile.
  private static func upload(
    _ benchCase: S3BenchCase,
    key: String,
    bucket: String,
    data: S3BenchData,
    moto: MotoServer
  ) async throws -> S3BenchTiming {
    switch benchCase.client {
    case .ours:
      return try await Self.withClient(moto, partMiB: benchCase.partMiB, concurrency: benchCase.concurrency) { client in
        let start = ContinuousClock.now
        let cpu = processCPUSeconds()
        try await client.upload(bucket: bucket, key: key, from: data.chunks())
        return S3BenchTiming(seconds: (ContinuousClock.now - start).inSeconds, cpuSeconds: processCPUSeconds() - cpu)
      }
    case .boto3:
      return try await Boto3Upload.run(
        endpoint: moto.endpoint, accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey, bucket: bucket,
        key: key, data: data, partBytes: benchCase.boto3Defaults ? 0 : benchCase.partMiB << 20,
        concurrency: benchCase.concurrency, sha256: benchCase.boto3SHA256
      )
    }
  }

  /// Checks that `key` is the upload of `data` in parts of `partMiB` (its size, the part count in
  /// its multipart ETag, and 64 KiB read back from a place that depends on the key), then
  /// deletes it.
  private static func verify(key: String, bucket: String, data: S3BenchData, partMiB: Int, moto: MotoServer) async throws {
    try await Self.withClient(moto, partMiB: partMiB, concurrency: 1) { client in
      let info = try await client.headObject(bucket: bucket, key: key)
      guard info.contentLength == data.size else {
        throw S3BenchError(message: "\(key) holds \(info.contentLength) bytes after the upload, not \(data.size)")
      }
      let parts = (data.size + (partMiB << 20) - 1) / (partMiB << 20)
      if parts > 1, !info.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).hasSuffix("-\(parts)") {
        throw S3BenchError(message: "\(key)'s ETag \(info.etag) is not that of a multipart upload of \(parts) parts")
      }
      let length = min(64 << 10, data.size)
      let offset = Int(UInt(bitPattern: key.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }) % UInt(data.size - length + 1))
      let object = try await client.getObject(bucket: bucket, key: key, range: offset...(offset + length - 1))
      guard Array(object.body.readableBytesView) == (try data.bytes(at: offset, length: length)) else {
        throw S3BenchError(message: "\(key)'s bytes \(offset)..<\(offset + length) differ from the file's")
      }
      try await client.deleteObject(bucket: bucket, key: key)
    }
  }

  private static func padded(_ name: String) -> String { name.padding(toLength: 46, withPad: " ", startingAt: 0) }

}
