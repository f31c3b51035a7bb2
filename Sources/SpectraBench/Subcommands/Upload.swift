internal import ArgumentParser
internal import BulkCore
internal import BulkGRPCClient
internal import BulkProto
internal import Foundation
internal import NIOCore
internal import SwiftProtobuf

#if canImport(Glibc)
internal import Glibc
#endif

/// `spectra-bench upload`: streams a CSV file over loopback gRPC into a real `spectra-bulk serve`
/// and reports the throughput and the server's peak memory, beside the same bytes written to a
/// file with fsync on the same disk (the baseline), for the server's default HTTP/2 window and
/// for the transport's own 64 KiB window, sent by our Swift client and by Python's grpcio.
struct Upload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Upload throughput into the spool over loopback gRPC, and the server's peak RSS."
  )

  @Option(help: "Size of the uploaded CSV in megabytes.")
  var megabytes: Int = 100

  @Option(help: "Runs of each case; the median is reported.")
  var runs: Int = 3

  func validate() throws {
    guard self.megabytes >= 1 else { throw ValidationError("--megabytes \(self.megabytes) is below 1") }
    guard self.runs >= 1 else { throw ValidationError("--runs \(self.runs) is below 1") }
  }

  func run() async throws {
    let csv = SampleCSV.make(bytes: self.megabytes << 20)
    let data = Data(csv.readableBytesView)
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let file = scratch.appendingPathComponent("upload.csv")
    try data.write(to: file)

    print("upload of \(data.count) bytes of CSV in 1 MiB messages, median of \(self.runs) runs")
    let disk = try (0 ..< self.runs).map { _ in try Self.writeFile(data, in: scratch) }.median ?? 0
    print(Self.row("write + fsync to a file (baseline)", data.count, disk, baseline: disk, rss: nil))
    for (name, flags, sender) in [
      ("gRPC upload, 4 MiB window (default)", [String](), Sender.swift),
      (
        "gRPC upload, 64 KiB window, 16 KiB frames", ["--grpc-window-size", "65535", "--grpc-max-frame-size", "16384"],
        .swift
      ),
      ("gRPC upload by Python grpcio, default window", [], .python),
    ] {
      do {
        var times: [Double] = []
        var peak = 0
        for run in 0 ..< self.runs {
          let (seconds, rss) = try await Self.upload(
            file,
            size: data.count,
            flags: flags,
            sender: sender,
            folder: scratch.appendingPathComponent("\(name.hashValue)-\(run)")
          )
          times.append(seconds)
          peak = max(peak, rss)
        }
        print(Self.row(name, data.count, times.median ?? 0, baseline: disk, rss: peak))
      } catch let unavailable as CaseUnavailable {
        print("\(name): not available: \(unavailable.reason)")
      }
    }
  }

  /// Who sends an upload: our Swift client, or Python grpcio with the generated stubs
  /// (`PythonUpload`), so that the figure is not only our client's.
  private enum Sender {
    case swift, python
  }

  private static func row(_ name: String, _ bytes: Int, _ seconds: Double, baseline: Double, rss: Int?) -> String {
    let rate = Double(bytes) / seconds / 1e6
    let memory = rss.map { "  peak RSS \($0 >> 20) MiB" } ?? ""
    return String(
      format: "%-44@ %8.1f MB/s  %5.2fx the baseline's time%@",
      name as NSString,
      rate,
      seconds / baseline,
      memory as NSString
    )
  }

  private static func writeFile(_ data: Data, in folder: URL) throws -> Double {
    let path = folder.appendingPathComponent("baseline-\(UUID().uuidString)").path
    let start = ContinuousClock.now
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    defer {
      close(descriptor)
      unlink(path)
    }
    try data.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let length = min(1 << 20, raw.count - offset)
        guard write(descriptor, raw.baseAddress! + offset, length) == length else {
          throw POSIXError(.EIO)
        }
        offset += length
      }
    }
    fsync(descriptor)
    return (ContinuousClock.now - start).inSeconds
  }

  /// Starts a server, has `sender` upload `file` of `size` bytes, stops it: the upload's seconds
  /// and the server's peak RSS.
  private static func upload(
    _ file: URL,
    size: Int,
    flags: [String],
    sender: Sender,
    folder: URL
  ) async throws -> (Double, Int) {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let server = try BenchServer(
      arguments: ["--data-dir", folder.appendingPathComponent("data").path] + flags,
      environment: ["SPECTRA_DEV_TOKEN": "bench"],
      log: folder.appendingPathComponent("server.log")
    )
    defer { server.stop() }
    switch sender {
    case .python:
      let (seconds, stored) = try await PythonUpload.run(port: server.grpcPort, token: "bench", file: file)
      guard stored == Int64(size) else {
        throw ValidationError("the server stored \(stored) bytes of the \(size) grpcio sent")
      }
      return (seconds, server.peakRSS)
    case .swift:
      let seconds = try await server.withClient(token: "bench") { client in
        let job = try await client.create(
          .with {
            $0.operation = .insert
            $0.object = "customers"
          }
        )
        let start = ContinuousClock.now
        try await client.upload(file.path, size: Int64(size), into: job.jobID)
        return (ContinuousClock.now - start).inSeconds
      }
      return (seconds, server.peakRSS)
    }
  }
}
