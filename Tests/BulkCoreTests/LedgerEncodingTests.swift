import BulkCore
import Testing

@Suite("Ledger encoding of a chunk's outcomes")
struct LedgerEncodingTests {
  @Test("outcomes come back as they were written, failures with their code and message")
  func roundTrip() throws {
    let outcomes: [RecordOutcome] = [
      .succeeded(created: true),
      .failed(code: "DUPLICATE_KEY", message: "UNIQUE constraint failed: people.id — ünïcode"),
      .succeeded(created: false),
      .failed(code: "NOT_NULL", message: ""),
      .failed(code: "DATABASE_ERROR", message: String(repeating: "x", count: 70_000)),
    ]
    let bytes = RecordOutcome.ledgerBytes(outcomes)
    #expect(bytes.prefix(1) == [0])
    #expect(RecordOutcome.fromLedgerBytes(bytes) == outcomes)
    #expect(RecordOutcome.fromLedgerBytes([]) == [])
  }

  @Test("bytes it did not write are refused, not misread")
  func refusesForeignBytes() {
    #expect(RecordOutcome.fromLedgerBytes([7]) == nil)
    // A failure whose message length runs past the end.
    #expect(RecordOutcome.fromLedgerBytes([2, 1, 0, 0, 0, 65, 9, 0, 0, 0, 66]) == nil)
  }
}
