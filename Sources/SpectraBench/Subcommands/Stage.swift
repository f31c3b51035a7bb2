internal import ArgumentParser
internal import BulkCore
internal import BulkRedshift
internal import BulkS3
internal import BulkTestSupport
internal import Foundation
internal import NIOCore

/// `spectra-bench stage`: the time to stage rows for Redshift's `COPY` — CSV, gzip, objects and
/// manifests in S3 (moto on loopback, signatures checked) — against `gzip -1` over the same CSV,
/// the compression alone that any staging script pays.
struct Stage: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stage",
    abstract: "Times staging rows as gzip CSV objects in S3 (moto) for Redshift's COPY, against gzip -1 of the same CSV."
  )

  @Option(help: "Rows to stage.")
  var rows = 1_000_000

  @Option(help: "Rows per chunk (one COPY each).")
  var chunkRecords = 100_000

  @Option(help: "Chunks staged at once, as the engine's workers do.")
  var workers = 2

  @Option(help: "The cluster's slices: objects per chunk, once each holds --minimum-object-bytes.")
  var slices = 4

  @Option(help: "The fewest CSV bytes per object.")
  var minimumObjectBytes = 4 << 20

  @Option(help: "Write the figures as JSON to this file.")
  var json: String?

  func run() async throws {
    guard self.rows > 0, self.chunkRecords > 0, self.workers > 0 else {
      throw ValidationError("--rows, --chunk-records and --workers must be positive")
    }
    let moto = try await MotoServer.launch()
    defer { moto.stop() }
    let http = S3HTTPTransport()
    do {
      try await self.measure(moto: moto, http: http)
    } catch {
      try await http.shutdown()
      throw error
    }
    try await http.shutdown()
  }

  private func measure(moto: MotoServer, http: S3HTTPTransport) async throws {
    let s3 = try S3Client(
      configuration: S3Configuration(region: "us-east-1", endpoint: URL(string: moto.endpoint)!),
      credentials: S3StaticCredentials(S3Credentials(accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)),
      http: http
    )
    try await s3.createBucket("spectra-bench")
    let staging = try RedshiftStaging(
      location: "s3://spectra-bench/stage",
      authorization: .iamRole(moto.roleARN),
      slices: self.slices,
      minimumObjectBytes: self.minimumObjectBytes
    )
    let stager = RedshiftChunkStager(staging: staging, s3: s3)
    let chunks = stride(from: 0, to: self.rows, by: self.chunkRecords).map { start in
      Self.chunk(index: start / self.chunkRecords, rows: start ..< min(self.rows, start + self.chunkRecords))
    }
    let encodingStarted = ContinuousClock.now
    let csvBytes = chunks.reduce(0) { $0 + RedshiftChunkStager.csv($1.records).bytes.count }
    let encodeSeconds = Self.seconds(ContinuousClock.now - encodingStarted)
    let tenant = Tenant(id: "bench")

    let started = ContinuousClock.now
    let staged = try await withThrowingTaskGroup(of: RedshiftStagedChunk.self) { group in
      var next = 0
      var staged: [RedshiftStagedChunk] = []
      while next < chunks.count || !group.isEmpty {
        while next < chunks.count && next - staged.count < self.workers {
          let work = chunks[next]
          group.addTask { try await stager.stage(work, tenant: tenant, slices: self.slices) }
          next += 1
        }
        if let done = try await group.next() { staged.append(done) }
      }
      return staged
    }
    let stageSeconds = Self.seconds(ContinuousClock.now - started)

    var objects = 0
    var compressedBytes = 0
    for chunk in staged {
      for object in chunk.objects {
        objects += 1
        compressedBytes += try await s3.headObject(bucket: "spectra-bench", key: object.key).contentLength
      }
    }
    let gzipSeconds = try Self.gzipCommand(chunks)
    print("stage: \(self.rows) rows in \(chunks.count) chunks, \(self.workers) at once, \(self.slices) slices")
    print(String(format: "  CSV %.1f MB → gzip %.1f MB in %d objects (+ %d manifests)", Double(csvBytes) / 1e6, Double(compressedBytes) / 1e6, objects, staged.count))
    print(String(format: "  staged (CSV + gzip -1 + PutObject to moto): %.2f s, %.0f rows/s, %.0f MB/s of CSV", stageSeconds, Double(self.rows) / stageSeconds, Double(csvBytes) / 1e6 / stageSeconds))
    print(String(format: "  of which CSV encoding alone (one thread):    %.2f s", encodeSeconds))
    print(String(format: "  baseline gzip -1 of the same CSV (no S3):    %.2f s; staging takes %.2f× it", gzipSeconds, stageSeconds / gzipSeconds))
    if let json = self.json {
      let figures: [String: Any] = [
        "rows": self.rows, "chunks": chunks.count, "objects": objects, "csv_bytes": csvBytes,
        "gzip_bytes": compressedBytes, "stage_seconds": stageSeconds, "encode_seconds": encodeSeconds, "gzip_cli_seconds": gzipSeconds,
        "ratio_to_gzip_cli": stageSeconds / gzipSeconds,
      ]
      try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]).write(to: URL(fileURLWithPath: json))
    }
    for chunk in staged { await stager.remove(chunk) }
  }

  /// The rows `range` as a chunk of an insert into a five-column table: an id, a name, an amount,
  /// a time and a note with a comma in it.
  private static func chunk(index: Int, rows range: Range<Int>) -> ChunkWork {
    let columns = ["id", "name", "amount", "placed", "note"]
    let table = TableDescription(
      name: "orders",
      columns: columns.map { ColumnDescription(name: $0, declaredType: "varchar(64)", type: .text, nullable: true, hasDefault: false) },
      primaryKey: [],
      uniqueColumns: []
    )
    let base = Date(timeIntervalSince1970: 1_700_000_000)
    return ChunkWork(
      jobID: "bench-job",
      chunk: index,
      operation: .insert,
      table: table,
      keyColumn: "",
      columns: columns,
      records: range.map { row in
        ChunkRecord(
          number: Int64(row + 1),
          values: [
            .integer(Int64(row)), .text("customer \(row % 5000)"), .number("\(row % 997).\(row % 100)"),
            .timestamp(base.addingTimeInterval(Double(row))), .text("note, \(row % 13)"),
          ]
        )
      }
    )
  }

  /// Seconds `gzip -1` takes over the chunks' CSV, from a file to /dev/null.
  private static func gzipCommand(_ chunks: [ChunkWork]) throws -> Double {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("spectra-stage-\(getpid()).csv").path
    defer { unlink(path) }
    guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ValidationError("cannot create \(path)") }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    for chunk in chunks { try handle.write(contentsOf: RedshiftChunkStager.csv(chunk.records).bytes) }
    try handle.close()
    let gzip = try ExternalCommand.program(named: "gzip", debianPackage: "gzip")
    let started = ContinuousClock.now
    _ = try ExternalCommand(arguments: ["/bin/sh", "-c", "\"$0\" -1 -c \"$1\" > /dev/null", gzip, path], directory: "/").check()
    return Self.seconds(ContinuousClock.now - started)
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}
