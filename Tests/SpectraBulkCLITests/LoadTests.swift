internal import BulkTestSupport
internal import Foundation
internal import Testing

/// `spectra-bulk load` against the real server: summaries, exit statuses, the files of failed
/// records, gzip files, and a connection cut in the middle of the upload.
@Suite("spectra-bulk load, end to end")
struct LoadTests {
  static let header = "id,name,email\n"

  @Test("a refused record: exit 2, FILE.failed.csv, the JSON summary; a clean upsert then exits 0 and removes it")
  func failedRecords() async throws {
    let server = try DemoServer()
    let file = try server.file(
      "people.csv",
      Self.header + "100,Edsger,edsger@example.com\n101,,nameless@example.com\n102,Barbara,barbara@example.com\n"
    )
    let load = try await server.cli(["load", file, "--object", "customers", "--operation", "insert", "--json"])
    #expect(load.status == 2, "\(load.standardError)")
    let summary = try load.json
    #expect(summary["state"] as? String == "JobComplete")
    #expect(summary["records_total"] as? Int == 3)
    #expect(summary["records_processed"] as? Int == 3)
    #expect(summary["records_succeeded"] as? Int == 2)
    #expect(summary["records_failed"] as? Int == 1)
    #expect(summary["wire_compression"] as? String == "gzip")
    #expect(summary["failed_file"] as? String == "\(file).failed.csv")
    #expect(summary["unprocessed_file"] == nil)
    let failed = try String(contentsOfFile: "\(file).failed.csv", encoding: .utf8)
    #expect(
      failed
        == "_record,_error,id,name,email\n2,NOT_NULL: NOT NULL constraint failed: customers.name,101,,nameless@example.com\n"
    )
    #expect(!FileManager.default.fileExists(atPath: "\(file).unprocessed.csv"))

    // The same file, fixed, as an upsert: every record succeeds; progress and the summary are
    // plain lines because the output is not a terminal.
    _ = try server.file(
      "people.csv",
      Self.header + "101,Nameless,nameless@example.com\n102,Barbara L.,barbara@example.com\n"
    )
    let upsert = try await server.cli(
      ["load", file, "--object", "customers", "--operation", "upsert", "--external-id", "id"]
    )
    #expect(upsert.status == 0, "\(upsert.standardError)")
    #expect(upsert.standardOutput.contains("JobComplete: 2 of 2 records processed, 2 succeeded, 0 failed"))
    #expect(upsert.standardError.contains("(100%)"))
    #expect(upsert.standardError.contains("JobComplete: 2/2 records, 0 failed"))
    #expect(!FileManager.default.fileExists(atPath: "\(file).failed.csv"))
  }

  @Test(
    "a job that fails as a whole: exit 1, its reason, every record in FILE.unprocessed.csv; an empty file is refused"
  )
  func failedJob() async throws {
    let server = try DemoServer()
    let file = try server.file("extra.csv", "id,name,nickname\n1,A,a\n2,B,b\n")
    let load = try await server.cli(["load", file, "--object", "customers", "--operation", "insert"])
    #expect(load.status == 1)
    #expect(load.standardOutput.contains("Failed: 0 of 2 records processed, 0 succeeded, 0 failed, 2 unprocessed"))
    #expect(load.standardOutput.contains("error: column 'nickname'"))
    #expect(load.standardOutput.contains("unprocessed records: \(file).unprocessed.csv"))
    #expect(
      try String(contentsOfFile: "\(file).unprocessed.csv", encoding: .utf8)
        == "_record,id,name,nickname\n1,1,A,a\n2,2,B,b\n"
    )

    let empty = try await server.cli([
      "load", try server.file("empty.csv", ""), "--object", "customers", "--operation", "insert",
    ])
    #expect(empty.standardError.contains("empty.csv is empty"))
    #expect(empty.status != 0)
  }

  @Test(
    "a gzip JSON file: uploaded as sent (no wire compression), results paged one record per call join into one array"
  )
  func gzipJSON() async throws {
    let server = try DemoServer()
    let file = try server.file(
      "people.json",
      #"[{"id":300,"name":"Kay","email":"kay@example.com"},{"id":301,"name":"Niklaus","email":"nik@example.com"},"#
        + #"{"id":302,"name":"Tony","email":"tony@example.com"}]"#
    )
    try ExternalCommand(arguments: ["/bin/sh", "-c", "gzip \"$0\"", file], directory: "/").check()
    let load = try await server.cli(["load", "\(file).gz", "--object", "customers", "--operation", "insert", "--json"])
    #expect(load.status == 0, "\(load.standardError)")
    let summary = try load.json
    #expect(summary["wire_compression"] as? String == "none")
    #expect(summary["records_succeeded"] as? Int == 3)
    let job = try #require(summary["job_id"] as? String)

    let whole = try await server.cli(["results", job])
    let paged = try await server.cli(["results", job, "--page-records", "1"])
    #expect(whole.status == 0 && paged.status == 0)
    #expect(paged.standardOutput == whole.standardOutput)
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(paged.standardOutput.utf8)) as? [[String: Any]])
    #expect(rows.compactMap { $0["id"] as? Int } == [300, 301, 302])
    #expect(rows.compactMap { $0["_record"] as? Int } == [1, 2, 3])
  }

  @Test("a server that refuses gzip-compressed messages: the load says so and sends them plain")
  func compressionRefused() async throws {
    let server = try DemoServer()
    let file = try server.file("plain.csv", Self.header + "500,Olga,olga@example.com\n")
    let load = try await UncompressedRelay.run(upstreamPort: server.grpcPort, token: DemoServer.token) { port in
      try await server.cli(["load", file, "--object", "customers", "--operation", "insert", "--json"], port: port)
    }
    #expect(load.status == 0, "\(load.standardError)")
    #expect(try load.json["wire_compression"] as? String == "none")
    #expect(try load.json["records_succeeded"] as? Int == 1)
    #expect(load.standardError.contains("the server refused gzip-compressed messages"))
  }

  @Test("on a terminal: progress bars redrawn in place, for the upload and for the processing")
  func bars() async throws {
    let server = try DemoServer()
    let file = try server.file("bars.csv", Self.header + "400,Ida,ida@example.com\n401,Ivan,ivan@example.com\n")
    let load = [
      try ServerProcess.builtProgram("spectra-bulk"), "load", file, "--object", "customers", "--operation", "insert",
      "--server", "127.0.0.1:\(server.grpcPort)", "--token", DemoServer.token,
    ]
    // `script` runs the command on a pseudo-terminal and copies what it draws.
    let run = try await CommandResult.run(["/usr/bin/script", "-qec", load.joined(separator: " "), "/dev/null"])
    #expect(run.status == 0, "\(run.standardOutput)")
    let full = String(repeating: "#", count: 30)
    #expect(run.standardOutput.contains("\r\u{1B}[Kupload  [\(full)]  100%  64 B/64 B"))
    #expect(
      run.standardOutput.contains("\r\u{1B}[Kprocess [\(full)]  100%  2/2 records  0 failed  chunks 1/1  JobComplete")
    )
  }

  @Test(
    "the connection cut in the middle of the upload: the load resumes from bytes_uploaded, every record loaded once"
  )
  func resumeAfterCut() async throws {
    let server = try DemoServer()
    let rows = 100_000
    var text = Self.header
    for index in 1 ... rows {
      text += "\(1000 + index),\"Name, \(index)\",user\(index)@example.com\n"
    }
    let file = try server.file("many.csv", text)
    // Cut in the third 1 MiB message of about four, so that some bytes are stored before.
    let proxy = try CuttingProxy(upstreamPort: server.grpcPort, cutAfter: 2_600_000)
    defer { proxy.stop() }

    let load = try await server.cli(
      ["load", file, "--object", "customers", "--operation", "insert", "--no-compression", "--json"],
      port: proxy.port
    )
    #expect(proxy.cuts == 1)
    #expect(load.status == 0, "\(load.standardError)")
    let summary = try load.json
    #expect((summary["upload_resumes"] as? Int ?? 0) >= 1)
    #expect(summary["bytes_uploaded"] as? Int == text.utf8.count)
    #expect(summary["records_total"] as? Int == rows)
    #expect(summary["records_succeeded"] as? Int == rows)
    #expect(summary["records_failed"] as? Int == 0)
    let resumed = try #require(load.standardError.firstMatch(of: /resuming the upload of \S+ from byte (\d+)/))
    #expect(Int(resumed.1) ?? 0 > 0, "the stored bytes before the cut are not sent again")

    // Each record is in the successful results exactly once, inserted.
    let job = try #require(summary["job_id"] as? String)
    let results = try await server.cli(["results", job, "--page-records", "30000"], port: proxy.port)
    let lines = results.standardOutput.split(separator: "\n").dropFirst()
    #expect(lines.count == rows)
    #expect(Set(lines.map { $0.split(separator: ",")[0] }).count == rows)
    #expect(lines.allSatisfy { $0.split(separator: ",")[1] == "true" })
  }
}
