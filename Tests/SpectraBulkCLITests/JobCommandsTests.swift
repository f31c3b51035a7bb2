internal import Foundation
internal import Testing

#if canImport(FoundationNetworking)
internal import FoundationNetworking
#endif

/// `spectra-bulk jobs`, `job`, `watch`, `abort`, `results` and `delete` against the real server.
@Suite("spectra-bulk job commands, end to end")
struct JobCommandsTests {
  /// An `Open` insert job on `customers`, created over REST; its id.
  static func createOpenJob(_ server: DemoServer) async throws -> String {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.httpPort)/v1/bulk/jobs")!)
    request.httpMethod = "POST"
    request.setValue("Bearer \(DemoServer.token)", forHTTPHeaderField: "Authorization")
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = Data(#"{"operation":"insert","object":"customers","content_type":"CSV"}"#.utf8)
    let (body, _) = try await URLSession.shared.data(for: request)
    let job = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    return try #require(job["job_id"] as? String)
  }

  static func jobIDs(_ result: CommandResult) throws -> [String] {
    let jobs = try #require(
      try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]]
    )
    return jobs.compactMap { $0["job_id"] as? String }
  }

  @Test("list, show, watch, abort, fetch results of and delete jobs, with the token from SPECTRA_TOKEN")
  func lifecycle() async throws {
    let server = try DemoServer()
    let file = try server.file("two.csv", "id,name,email\n700,Ole,ole@example.com\n701,,x@example.com\n")
    let load = try await server.cli(["load", file, "--object", "customers", "--operation", "insert", "--json"])
    let finished = try #require(try load.json["job_id"] as? String)
    let open = try await Self.createOpenJob(server)

    let jobs = try await server.cli(["jobs", "--json"], token: false, environment: ["SPECTRA_TOKEN": DemoServer.token])
    #expect(jobs.status == 0, "\(jobs.standardError)")
    #expect(try Self.jobIDs(jobs) == [open, finished])
    #expect(try Self.jobIDs(try await server.cli(["jobs", "--state", "Open", "--json"])) == [open])
    #expect(try Self.jobIDs(try await server.cli(["jobs", "--limit", "1", "--json"])) == [open])
    let table = try await server.cli(["jobs"])
    #expect(table.standardOutput.hasPrefix("JOB "))
    #expect(
      table.standardOutput.split(separator: "\n").contains { $0.hasPrefix(finished) && $0.contains("JobComplete") }
    )

    let shown = try await server.cli(["job", finished, "--json"])
    #expect(try shown.json["state"] as? String == "JOB_STATE_JOB_COMPLETE")
    #expect(try shown.json["number_records_failed"] as? String == "1")
    let details = try await server.cli(["job", finished])
    #expect(details.standardOutput.contains("state:           JobComplete"))
    #expect(details.standardOutput.contains("records:         2 processed of 2, 1 failed"))

    // A finished job with a failed record exits 2; an aborted one exits 1.
    let watched = try await server.cli(["watch", finished, "--quiet"])
    #expect(watched.status == 2)
    let aborted = try await server.cli(["abort", open])
    #expect(aborted.status == 0, "\(aborted.standardError)")
    #expect(aborted.standardOutput == "job \(open) Aborted\n")
    #expect(try await server.cli(["watch", open, "--quiet"]).status == 1)
    let refused = try await server.cli(["abort", finished])
    #expect(refused.status == 1)
    #expect(refused.standardError.contains("job \(finished) is not in a state that allows this"))

    let output = "\(server.directory)/failed.csv"
    let results = try await server.cli(["results", finished, "--set", "failed", "-o", output])
    #expect(results.standardOutput == "1 records written to \(output)\n")
    #expect(
      try String(contentsOfFile: output, encoding: .utf8)
        == "_record,_error,id,name,email\n2,NOT_NULL: NOT NULL constraint failed: customers.name,701,,x@example.com\n"
    )
    let successful = try await server.cli(["results", finished])
    #expect(successful.standardOutput == "_record,_created,id,name,email\n1,true,700,Ole,ole@example.com\n")

    #expect(try await server.cli(["delete", open]).standardOutput == "job \(open) deleted\n")
    let gone = try await server.cli(["job", open])
    #expect(gone.status == 1)
    #expect(gone.standardError.contains("job \(open) was not found for this tenant"))
  }

  @Test("errors say what to fix: a wrong token, no token, another tenant, results of an open job")
  func errors() async throws {
    let server = try DemoServer()
    let wrong = try await server.cli(["jobs", "--token", "wrong"], token: false)
    #expect(wrong.status == 1)
    #expect(wrong.standardError.contains("the server refused the token"))

    let missing = try await server.cli(["jobs"], token: false, environment: ["SPECTRA_TOKEN": ""])
    #expect(missing.status != 0 && missing.status != 1)
    #expect(missing.standardError.contains("no token: pass --token or set SPECTRA_TOKEN"))

    let tenant = try await server.cli(["jobs", "--tenant", "tenant-999"])
    #expect(tenant.status == 1)
    #expect(tenant.standardError.contains("permission denied"))

    let open = try await Self.createOpenJob(server)
    let early = try await server.cli(["results", open])
    #expect(early.status == 1)
    #expect(early.standardError.contains("job \(open) is not in a state that allows this"))
  }
}
