internal import BulkProto
internal import Testing

@testable internal import SpectraBulkCLI

/// The small pure parts of the command-line client: addresses, progress figures, file formats.
@Suite("client parts")
struct ClientPartsTests {
  @Test("--server takes HOST:PORT and [IPv6]:PORT, and refuses an address without a port")
  func serverAddress() throws {
    let named = try ServerAddress("bulk.example.com:443")
    #expect(named.host == "bulk.example.com" && named.port == 443)
    let literal = try ServerAddress("[::1]:50051")
    #expect(literal.host == "::1" && literal.port == 50051)
    #expect(throws: (any Error).self) { try ServerAddress("localhost") }
    #expect(throws: (any Error).self) { try ServerAddress(":50051") }
    #expect(throws: (any Error).self) { try ServerAddress("host:70000") }
  }

  @Test("progress figures: bars, percentages, bytes, durations")
  func figures() {
    #expect(
      ProgressDisplay.bar(0.5) == "[" + String(repeating: "#", count: 15) + String(repeating: "-", count: 15) + "]"
    )
    #expect(ProgressDisplay.bar(1.5).filter { $0 == "#" }.count == 30)
    #expect(ProgressDisplay.percent(0.999) == "99%")
    #expect(ProgressDisplay.bytes(999) == "999 B")
    #expect(ProgressDisplay.bytes(12_345_678) == "12.3 MB")
    #expect(ProgressDisplay.duration(65) == "1:05")
    #expect(ProgressDisplay.duration(7265) == "2:01:05")
  }

  @Test("file formats from names, gzip or not")
  func formats() {
    #expect(FileFormat(fileName: "people.CSV") == .csv)
    #expect(FileFormat(fileName: "events.ndjson") == .json)
    #expect(FileFormat(fileName: "events.jsonl") == .json)
    #expect(FileFormat(fileName: "notes.txt") == nil)
  }

  @Test("command-line states in any spelling")
  func states() {
    #expect(Spectra_Bulk_V1_JobState(argument: "InProgress") == .inProgress)
    #expect(Spectra_Bulk_V1_JobState(argument: "in-progress") == .inProgress)
    #expect(Spectra_Bulk_V1_JobState(argument: "JOB_STATE_JOB_COMPLETE") == .jobComplete)
    #expect(Spectra_Bulk_V1_JobState(argument: "done") == nil)
  }
}
