import BulkCore
import BulkRedshift
import Foundation
import Testing

/// The CSV that Redshift's `COPY` reads, as `RedshiftChunkStager` writes it.
@Suite("RedshiftChunkStager's CSV")
struct RedshiftChunkStagerTests {
  static func csv(_ values: [FieldValue]) -> String {
    String(decoding: RedshiftChunkStager.csv([ChunkRecord(number: 1, values: values)]).bytes, as: UTF8.self)
  }

  /// What a formatter writes for `date`, to compare with.
  static func formatted(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    let fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000
    let whole = Date(timeIntervalSince1970: Double((micros - fraction) / 1_000_000))
    return formatter.string(from: whole) + "." + String(format: "%06lld", fraction)
  }

  @Test("timestamps in UTC to the microsecond, as a formatter writes them, across eras, leap days and before 1970")
  func timestamps() {
    var generator = SystemRandomNumberGenerator()
    var dates = [
      Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.000001), Date(timeIntervalSince1970: 951_782_400),
      Date(timeIntervalSince1970: 4_107_542_400), Date(timeIntervalSince1970: -2_208_988_800.5),
    ]
    for _ in 0 ..< 2000 {
      dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: -5_000_000_000_000_000 ... 5_000_000_000_000_000, using: &generator)) / 1_000_000))
    }
    for date in dates {
      var bytes: [UInt8] = []
      RedshiftChunkStager.appendTimestamp(date, to: &bytes)
      #expect(String(decoding: bytes, as: UTF8.self) == Self.formatted(date), "\(date.timeIntervalSince1970)")
    }
  }

  @Test("integers in decimal, to both ends of Int64")
  func integers() {
    for value: Int64 in [0, 7, -1, 10, -10, 1_234_567_890, .max, .min] {
      var bytes: [UInt8] = []
      RedshiftChunkStager.appendDigits(value, to: &bytes)
      #expect(String(decoding: bytes, as: UTF8.self) == String(value))
    }
  }

  @Test("each record: its position, then its values; NULL as \\N unquoted, text always quoted with quotes doubled")
  func fields() {
    #expect(Self.csv([.null, .text(""), .text("a \"b\", c"), .number("1.50"), .bool(true), .bytes([0xAB, 0x01])]) == "0,\\N,\"\",\"a \"\"b\"\", c\",1.50,true,ab01\n")
  }

  @Test("the line each record starts on counts the line feeds inside quoted values")
  func lineStarts() {
    let records = [["one\ntwo"], ["three"], ["four\n\nfive"], ["six"]].enumerated().map {
      ChunkRecord(number: Int64($0.offset + 1), values: $0.element.map(FieldValue.text))
    }
    #expect(RedshiftChunkStager.csv(records).lineStarts == [1, 3, 4, 7])
  }

  @Test(
    "objects per chunk: one per slice once each keeps the minimum, fewer below it, never none",
    arguments: [(10, 4, 100, 1), (399, 4, 100, 3), (400, 4, 100, 4), (100_000, 4, 100, 4), (0, 4, 100, 1)]
  )
  func objectCount(bytes: Int, slices: Int, minimum: Int, expected: Int) {
    #expect(RedshiftChunkStager.objectCount(bytes: bytes, slices: slices, minimum: minimum) == expected)
  }
}
