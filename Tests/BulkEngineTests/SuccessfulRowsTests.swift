import BulkCore
import BulkTestSupport
import Foundation
import Testing

@testable import BulkEngine

/// Successful CSV rows are served from the upload (`UploadRows`, result files `SBR2`) instead of
/// being copied into the result files, and read exactly as the copies were.
@Suite("Successful rows from the upload")
struct SuccessfulRowsTests {
  static let records = 3000

  /// A semicolon-separated upload with a byte order mark, CRLF line ends, quoted fields holding
  /// the delimiter, quotes and line ends, and every 97th record failing (no name).
  static func csv() -> String {
    var text = "\u{FEFF}id;name;note\r\n"
    for record in 1 ... Self.records {
      let name = record % 97 == 0 ? "" : record % 5 == 0 ? "\"Name \"\"\(record)\"\"\r\nsecond; line\"" : "name \(record)"
      text += "\(record);\(name);\(String(repeating: "n", count: record % 61))\r\n"
    }
    return text
  }

  static func resultFiles(_ directory: String, _ job: Job) throws -> [Data] {
    try (0 ..< Int(job.numberChunks)).map {
      try Data(contentsOf: URL(fileURLWithPath: "\(directory)/results/\(job.id)/\($0).results"))
    }
  }

  /// Every page of `maxRecords` of the successful set, joined without the repeated headers.
  static func paged(_ harness: EngineHarness, _ job: Job, maxRecords: Int64) async throws -> String {
    var text = ""
    var locator = ""
    repeat {
      let page = try await harness.results(job, .successful, locator: locator, maxRecords: maxRecords)
      text += text.isEmpty ? page.text : String(page.text.drop { $0 != "\n" }.dropFirst())
      locator = page.next
    } while !locator.isEmpty
    return text
  }

  @Test("the download is the gzip job's byte for byte, whole and paged, from result files a fraction of the upload")
  func servedFromUpload() async throws {
    try await withTemporaryDirectory { directory in
      var settings = EngineSettings(workers: 2)
      settings.chunkRecords = 500
      let harness = try EngineHarness(directory: directory, settings: settings)
      try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)")
      let upload = Data(Self.csv().utf8)
      let plain = try await harness.finished(
        try await harness.submit(JobSpec(operation: .insert, object: "items", columnDelimiter: "SEMICOLON"), [.bytes(upload)])
      )
      try harness.sql("DELETE FROM items")
      let gzip = try await harness.finished(
        try await harness.submit(
          JobSpec(operation: .insert, object: "items", compression: .gzip, columnDelimiter: "SEMICOLON"),
          [.bytes(try SpooledStagingStoreTests.gzip(upload))]
        )
      )
      let failures = Self.records / 97
      for job in [plain, gzip] {
        #expect(job.state == .jobComplete)
        #expect(job.numberRecordsFailed == Int64(failures))
      }

      let copied = try await harness.results(gzip, .successful)
      let referred = try await harness.results(plain, .successful)
      #expect(copied.records == Int64(Self.records - failures))
      #expect(referred.records == copied.records)
      #expect(referred.text == copied.text)
      #expect(referred.text.contains("5;true;5;\"Name \"\"5\"\"\r\nsecond; line\";nnnnn\n"))
      #expect(try await Self.paged(harness, plain, maxRecords: 700) == copied.text)
      #expect(try await harness.results(plain, .failed).text == (try await harness.results(gzip, .failed).text))

      let referring = try Self.resultFiles(directory, plain)
      let copying = try Self.resultFiles(directory, gzip)
      #expect(referring.count == 6)
      #expect(referring.allSatisfy { $0.prefix(4) == Data("SBR2".utf8) })
      #expect(copying.allSatisfy { $0.prefix(4) == Data("SBR1".utf8) })
      let referringBytes = referring.reduce(0) { $0 + $1.count }
      #expect(referringBytes < copying.reduce(0) { $0 + $1.count } / 2)
      #expect(referringBytes < upload.count / 2)
    }
  }

  @Test("rows whose upload is gone fail the download, naming the chunk; other sets are still read")
  func uploadGone() async throws {
    try await withTemporaryDirectory { directory in
      let harness = try EngineHarness(directory: directory, settings: EngineSettings(workers: 1))
      try harness.sql("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
      let job = try await harness.run(JobSpec(operation: .insert, object: "items"), csv: "id,name\n1,a\n2,\n")
      try FileManager.default.removeItem(atPath: "\(directory)/staging/\(job.id)/upload")
      await #expect {
        try await harness.results(job, .successful)
      } throws: { error in
        "\(error)".contains("the upload that the successful results of chunk 0 repeat is missing")
      }
      #expect(try await harness.results(job, .failed).text.hasSuffix(",2,\n"))
    }
  }
}
