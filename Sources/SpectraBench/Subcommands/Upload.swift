internal import ArgumentParser
internal import BulkProto
internal import Foundation
internal import GRPCCore
internal import GRPCNIOTransportHTTP2
internal import NIOCore

#if canImport(Glibc)
internal import Glibc
#endif

/// `spectra-bench upload`: streams a CSV file over loopback gRPC into a real `spectra-bulk serve`
/// and reports the throughput and the server's peak memory, beside the same bytes written to a
/// file with fsync on the same disk (the baseline), for the server's default HTTP/2 window and
/// for the transport's own 64 KiB window.
struct Upload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Upload throughput into the spool over loopback gRPC, and the server's peak RSS."
  )

  @Option(help: "Size of the uploaded CSV in megabytes.")
  var megabytes: Int = 100

  @Option(help: "Runs of each case; the median is reported.")
  var runs: Int = 3

  @Option(help: "The spectra-bulk binary; by default the one beside this program.")
  var server: String?

  func run() async throws {
    let csv = SampleCSV.make(bytes: self.megabytes << 20)
    let data = Data(csv.readableBytesView)
    let binary =
      self.server
      ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("spectra-bulk").path
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }

    print("upload of \(data.count) bytes of CSV in 1 MiB messages, median of \(self.runs) runs")
    let disk = try Self.median(self.runs) { try Self.writeFile(data, in: scratch) }
    print(Self.row("write + fsync to a file (baseline)", data.count, disk, baseline: disk, rss: nil))
    for (name, flags) in [
      ("gRPC upload, 4 MiB window (default)", [String]()),
      ("gRPC upload, 64 KiB window, 16 KiB frames", ["--grpc-window-size", "65535", "--grpc-max-frame-size", "16384"]),
    ] {
      var times: [Double] = []
      var peak = 0
      for run in 0 ..< self.runs {
        let (seconds, rss) = try await Self.upload(
          data,
          binary: binary,
          flags: flags,
          folder: scratch.appendingPathComponent("\(name.hashValue)-\(run)")
        )
        times.append(seconds)
        peak = max(peak, rss)
      }
      print(Self.row(name, data.count, times.sorted()[times.count / 2], baseline: disk, rss: peak))
    }
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

  private static func median(_ runs: Int, _ body: () throws -> Double) rethrows -> Double {
    var times: [Double] = []
    for _ in 0 ..< runs { times.append(try body()) }
    return times.sorted()[times.count / 2]
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
    return Self.seconds(ContinuousClock.now - start)
  }

  /// Starts a server, uploads `data`, stops it: the upload's seconds and the server's peak RSS.
  private static func upload(_ data: Data, binary: String, flags: [String], folder: URL) async throws -> (Double, Int) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = ["serve", "--grpc-port", "0", "--http-port", "0", "--data-dir", folder.path] + flags
    process.environment = ProcessInfo.processInfo.environment.merging(["SPECTRA_DEV_TOKEN": "bench"]) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    defer {
      process.terminate()
      process.waitUntilExit()
    }
    let port = try Self.grpcPort(output.fileHandleForReading)
    let metadata: Metadata = ["authorization": "Bearer bench"]
    let transport = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: port),
      transportSecurity: .plaintext,
      config: .defaults { config in
        config.http2.targetWindowSize = 4 << 20
        config.http2.maxFrameSize = 256 << 10
      }
    )
    let seconds = try await withGRPCClient(transport: transport) { grpc in
      let client = Spectra_Bulk_V1_BulkService.Client(wrapping: grpc)
      var create = Spectra_Bulk_V1_CreateJobRequest()
      create.operation = .insert
      create.object = "customers"
      let job = try await client.createJob(create, metadata: metadata)
      let start = ContinuousClock.now
      let response = try await client.uploadJobData(metadata: metadata) { writer in
        var offset = 0
        while offset < data.count {
          let end = min(offset + (1 << 20), data.count)
          var message = Spectra_Bulk_V1_UploadJobDataRequest()
          message.jobID = job.jobID
          message.offset = Int64(offset)
          message.data = data.subdata(in: offset ..< end)
          try await writer.write(message)
          offset = end
        }
      }
      let elapsed = Self.seconds(ContinuousClock.now - start)
      guard response.bytesUploaded == Int64(data.count) else {
        throw ValidationError("the server stored \(response.bytesUploaded) of \(data.count) bytes")
      }
      return elapsed
    }
    return (seconds, Self.peakRSS(of: process.processIdentifier))
  }

  private static func grpcPort(_ handle: FileHandle) throws -> Int {
    var text = ""
    // Complete lines only: the port is known once its line has ended.
    func grpcLine() -> Substring? {
      text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        .first { $0.hasPrefix("grpc listening on ") }
    }
    while grpcLine() == nil {
      let chunk = handle.availableData
      guard !chunk.isEmpty else { throw ValidationError("the server exited before listening") }
      text += String(decoding: chunk, as: UTF8.self)
    }
    let line = grpcLine() ?? ""
    guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
      throw ValidationError("cannot read the port from '\(line)'")
    }
    return port
  }

  /// VmHWM of a process, in bytes.
  private static func peakRSS(of pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
      let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return kilobytes << 10
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}
