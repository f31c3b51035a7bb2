import BulkCore
import Foundation
import Testing

@Suite("FieldValue.timestamp(parsing:)")
struct FieldValueTimestampTests {
  @Test(
    "PostgreSQL's ISO style and ISO 8601, with fractions and zones",
    arguments: [
      ("2024-03-01 10:20:30+00", 1_709_288_430.0),
      ("2024-03-01 10:20:30", 1_709_288_430.0),
      ("2024-03-01T10:20:30Z", 1_709_288_430.0),
      ("2024-03-01 12:20:30.25+02", 1_709_288_430.25),
      ("2024-03-01T12:50:30+02:30", 1_709_288_430.0),
      ("2024-03-01T08:20:30-0200", 1_709_288_430.0),
    ]
  )
  func parses(text: String, seconds: Double) {
    #expect(FieldValue.timestamp(parsing: text) == Date(timeIntervalSince1970: seconds))
  }

  @Test("anything else is not a timestamp", arguments: ["infinity", "2024-03-01", "2024-03-01 10:20", "2024-03-01T10:20:30Zx", "0044-03-15 12:00:00 BC"])
  func refuses(text: String) {
    #expect(FieldValue.timestamp(parsing: text) == nil)
  }
}
