import BulkCore
import Foundation
import Testing

@Suite("FieldValue row encoding")
struct FieldValueRowTests {
  static let row: [FieldValue] = [
    .null, .text("héllo, \"world\"\n"), .text(""), .number("12345678901234567890.5"), .integer(-42),
    .integer(.max), .double(-0.25), .double(.infinity), .bool(true), .bool(false), .bytes([0, 255, 7]), .bytes([]),
    .timestamp(Date(timeIntervalSince1970: 1_717_245_000.123456)),
  ]

  @Test("every kind of value comes back as it was written")
  func roundTrip() throws {
    let decoded = try #require(FieldValue.decodeRow(FieldValue.encodeRow(Self.row)))
    #expect(decoded.count == Self.row.count)
    for (read, written) in zip(decoded, Self.row) {
      if case .timestamp(let readDate) = read, case .timestamp(let writtenDate) = written {
        #expect(abs(readDate.timeIntervalSince1970 - writtenDate.timeIntervalSince1970) < 1e-6)
      } else {
        #expect(read == written)
      }
    }
    #expect(FieldValue.decodeRow(Data()) == [])
  }

  @Test("a timestamp too far for microseconds in 64 bits is kept, not trapped on")
  func distantTimestamp() throws {
    let far = Date(timeIntervalSince1970: 1e300)
    #expect(FieldValue.decodeRow(FieldValue.encodeRow([.timestamp(far)])) == [.timestamp(far)])
  }

  @Test("two rows encoded one after the other are the row of both")
  func concatenation() {
    let first = Array(Self.row.prefix(5))
    let second = Array(Self.row.dropFirst(5))
    #expect(FieldValue.encodeRow(first) + FieldValue.encodeRow(second) == FieldValue.encodeRow(Self.row))
  }

  @Test("frames: rows after their lengths, read back in order")
  func frames() throws {
    var frames = Data()
    FieldValue.appendFrame([.integer(1), .text("a")], to: &frames)
    FieldValue.appendFrame([], to: &frames)
    FieldValue.appendFrame([.null], to: &frames)
    #expect(frames.prefix(4) == Data([15, 0, 0, 0]))
    #expect(FieldValue.rows(inFrames: frames) == [[.integer(1), .text("a")], [], [.null]])
    // From a slice, as result pages are.
    let sliced = (Data([9]) + frames).dropFirst()
    #expect(FieldValue.rows(inFrames: sliced)?.count == 3)
  }

  @Test(
    "bytes the encoding did not write are refused",
    arguments: [[9], [1, 5, 0, 0, 0, 65], [3, 1, 2], [5]] as [[UInt8]]
  )
  func damaged(_ bytes: [UInt8]) {
    #expect(FieldValue.decodeRow(Data(bytes)) == nil)
    #expect(FieldValue.rows(inFrames: Data([UInt8(bytes.count), 0, 0, 0] + bytes)) == nil)
  }
}
