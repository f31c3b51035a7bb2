import BulkCore
import Testing

@testable import BulkEngine

/// The checks of uploaded values against their column types, which run on every field of every
/// record and so read bytes rather than going through Foundation.
@Suite("ValueCoercion")
struct ValueCoercionTests {
  static func column(_ type: ColumnType) -> ColumnDescription {
    ColumnDescription(name: "c", declaredType: type.rawValue, type: type, nullable: true, hasDefault: false)
  }

  @Test(arguments: [
    "2024-06-01", "2024-06-01T12:30", "2024-06-01T12:30:00", "2024-06-01 12:30:00", "2024-06-01T12:30:00Z",
    "2024-06-01T12:30:00.123456Z", "2024-06-01T12:30:00.Z", "2024-06-01T12:30:00+02", "2024-06-01T12:30:00-0530",
    "2024-06-01T12:30:00+05:30", "2024-02-29T00:00:00Z", "2000-02-29", "2024-12-31T23:59:60Z", "2024-06-01T12:30.5",
  ])
  func acceptsTimestamps(_ text: String) {
    #expect(ValueCoercion.isTimestamp(text))
  }

  @Test(arguments: [
    "", "2024-06-0", "2024-6-01", "2024-13-01", "2024-00-10", "2023-02-29", "1900-02-29", "2024-06-31",
    "2024-06-01X12:30", "2024-06-01T24:00", "2024-06-01T12:60", "2024-06-01T12:30:61", "2024-06-01T1:30",
    "2024-06-01T12:30:00.1a", "2024-06-01T12:30:00+2", "2024-06-01T12:30:00+123", "2024-06-01T12:30:00Zulu",
    "2024-06-01T", "abcd-ef-gh", "2024-06-01T12:3:00", "２０２４-06-01",
  ])
  func refusesOtherTimestamps(_ text: String) {
    #expect(!ValueCoercion.isTimestamp(text))
  }

  @Test(arguments: [("2024-06-01", true), ("2024-06-01 ", false), ("2024-02-30", false), ("24-06-01", false)])
  func readsDates(_ text: String, _ valid: Bool) {
    #expect(ValueCoercion.isDate(text) == valid)
  }

  @Test(arguments: [
    ("12", true), ("-12.50", true), ("+.5", true), ("5.", true), ("1e10", true), ("1.5E-3", true), (".", false),
    ("", false), ("1e", false), ("1.2.3", false), ("12a", false), ("--1", false),
  ])
  func readsDecimals(_ text: String, _ valid: Bool) {
    #expect(ValueCoercion.isDecimal(text) == valid)
  }

  @Test(arguments: [
    ("plain", "plain"), (" padded\t", "padded"), ("\u{3000}wide\u{3000}", "wide"), ("", ""), ("é", "é"),
  ])
  func trimsSpaces(_ text: String, _ expected: String) {
    #expect(ValueCoercion.trimmed(text) == expected)
  }

  @Test func coercesTextToColumnTypes() {
    #expect(ValueCoercion.coerce(.text(" 42 "), for: Self.column(.integer)) == .success(.integer(42)))
    #expect(ValueCoercion.coerce(.text("12.50"), for: Self.column(.decimal)) == .success(.number("12.50")))
    #expect(
      ValueCoercion.coerce(.text("2024-06-01T12:30:00Z "), for: Self.column(.timestamp))
        == .success(.text("2024-06-01T12:30:00Z"))
    )
    #expect(ValueCoercion.coerce(.text(" 2024-06-01"), for: Self.column(.date)) == .success(.text("2024-06-01")))
    guard case .failure(let failure) = ValueCoercion.coerce(.text("2024-06-01T25:00"), for: Self.column(.timestamp))
    else {
      Issue.record("an hour of 25 was accepted")
      return
    }
    #expect(failure.code == "INVALID_VALUE")
    #expect(failure.message.contains("is not a timestamp"))
  }

  /// Values of every kind that a CSV field can hold, plain and awkward.
  static let samples = [
    "", "0", "12", "-12", "+12", "007", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "+", "-", "1_000", "12.50", "-.5", "5.", ".", "1e3", "1E-3", "1e400", "inf", "nan",
    "0x1p3", "true", "TRUE", "Yes", "y", "N", "off", "\u{11}", "1 ", " 1", "\t1", "1\u{A0}", "\u{A0}1", "２",
    "2024-02-29", "2023-02-29", "2024-06-01T12:30:00Z", "2024-06-01 12:30:00+02:00", "2024-06-01T25:00",
    String(repeating: "9", count: 300), String(repeating: "9", count: 301) + ".5", "text", "say \"hi\"",
  ]

  @Test(
    "what the byte check takes, the full check takes too; plain values of each type it takes itself",
    arguments: [ColumnType.integer, .double, .decimal, .boolean, .text, .date, .timestamp, .bytes, .json, .other]
  )
  func plainAgreesWithCoerce(_ type: ColumnType) {
    for sample in Self.samples {
      let plain = Array(sample.utf8).withUnsafeBytes { ValueCoercion.acceptsPlainly($0, for: Self.column(type)) }
      let value: FieldValue = sample.isEmpty ? .null : .text(sample)
      if plain {
        #expect((try? ValueCoercion.coerce(value, for: Self.column(type)).get()) != nil, "\(type): '\(sample)'")
      }
    }
    let plainValues: [ColumnType: [String]] = [
      .integer: ["0", "-12", "+12", "9223372036854775807", "-9223372036854775808"],
      .double: ["12.50", "-.5", "5.", String(repeating: "9", count: 300)],
      .decimal: ["12.50", "1e3", "1E-3", "1e400"],
      .boolean: ["true", "TRUE", "Yes", "y", "N", "0"],
      .date: ["2024-02-29"],
      .timestamp: ["2024-06-01T12:30:00Z", "2024-06-01 12:30:00+02:00", "2024-02-29"],
      .text: Self.samples,
    ]
    for sample in plainValues[type] ?? [] {
      #expect(Array(sample.utf8).withUnsafeBytes { ValueCoercion.acceptsPlainly($0, for: Self.column(type)) }, "\(type): '\(sample)'")
    }
  }
}
