import BulkCore
import BulkPostgres
import Foundation
import Testing

@Suite("CopyRows")
struct CopyRowsTests {
  @Test("values are written in COPY text format, escapes and all")
  func encoding() {
    let rows = CopyRows(
      records: [
        ChunkRecord(
          number: 1,
          values: [
            .null, .text("a\tb\nc\\d\re"), .integer(-5), .double(1.5), .bool(true), .bytes([0xde, 0xad]),
            .timestamp(Date(timeIntervalSince1970: 0.5)), .number("1e3"), .double(-.infinity), .double(.nan),
            .bool(false), .timestamp(Date(timeIntervalSince1970: -0.25)),
          ]
        )
      ],
      numbered: false
    )
    let fields = [
      #"\N"#, #"a\tb\nc\\d\re"#, "-5", "1.5", "t", #"\\xdead"#, "1970-01-01T00:00:00.500000Z", "1e3", "-Infinity",
      "NaN",
      "f", "1969-12-31T23:59:59.750000Z",
    ]
    #expect(String(decoding: rows.bytes, as: UTF8.self) == fields.joined(separator: "\t") + "\n")
  }

  @Test("numbered rows start with their position, and any range is a slice of whole lines")
  func numberedSlices() {
    let rows = CopyRows(
      records: (0 ..< 4).map { ChunkRecord(number: Int64($0 + 10), values: [.text("r\($0)"), .integer(Int64($0))]) },
      numbered: true
    )
    #expect(String(decoding: rows[0 ..< 4], as: UTF8.self) == "0\tr0\t0\n1\tr1\t1\n2\tr2\t2\n3\tr3\t3\n")
    #expect(String(decoding: rows[1 ..< 3], as: UTF8.self) == "1\tr1\t1\n2\tr2\t2\n")
    #expect(rows[2 ..< 2].isEmpty)
  }

  @Test("display text names a value for messages, cut at 200 characters")
  func displayText() {
    #expect(FieldValue.null.displayText == "NULL")
    #expect(FieldValue.integer(42).displayText == "42")
    #expect(FieldValue.bytes([1, 255]).displayText == #"\x01ff"#)
    #expect(FieldValue.text(String(repeating: "a", count: 300)).displayText.count == 201)
  }
}
