import Foundation
import Testing

@testable import BulkHTTP

/// The hand-written gzip encoder, checked against the system's `gzip`.
@Suite("GzipEncoder")
struct GzipEncoderTests {
  /// Compresses `parts` as one stream, part by part.
  static func compress(_ parts: [Data]) throws -> Data {
    let encoder = try GzipEncoder()
    var output = Data()
    for part in parts {
      output.append(contentsOf: try encoder.compress(part))
    }
    output.append(contentsOf: try encoder.finish())
    return output
  }

  static func random(_ count: Int, seed: UInt64) -> Data {
    var state = seed
    return Data(
      (0 ..< count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
      }
    )
  }

  static let csv = Data(
    ("_record,_created,id,name,email\n"
      + (1 ... 5000).map { "\($0),true,\($0),Customer \($0 % 97),user\($0)@example.com\n" }.joined()).utf8
  )

  /// Named streams, each as the parts it is compressed in.
  static let streams: [(String, [Data])] = {
    let uneven: [Data] = stride(from: 0, to: csv.count, by: 7_777).map { start in
      csv[start ..< min(start + 7_777, csv.count)]
    }
    let bytes = Data((0 ... 255).map { UInt8($0) })
    var streams: [(String, [Data])] = []
    streams.append(("empty", [Data()]))
    streams.append(("nothing at all", []))
    streams.append(("one byte", [Data([0x41])]))
    streams.append(("two short parts", [Data("ab".utf8), Data("c".utf8)]))
    streams.append(("runs", [Data(repeating: 0x7A, count: 100_000)]))
    streams.append(("random", [random(70_000, seed: 1)]))
    streams.append(("CSV in one part", [csv]))
    streams.append(("CSV in uneven parts", uneven))
    streams.append(("every byte value", [bytes + random(1_000, seed: 2) + bytes]))
    return streams
  }()

  @Test("streams decompress to their input", arguments: streams)
  func roundTrip(name: String, parts: [Data]) throws {
    let compressed = try Self.compress(parts)
    #expect(try gunzip(compressed) == parts.reduce(Data(), +), "\(name)")
  }

  @Test("CSV shrinks to well under half, and across parts as well as in one")
  func ratio() throws {
    let whole = try Self.compress([Self.csv])
    #expect(whole.count < Self.csv.count / 3)
    let parts = try Self.compress(
      stride(from: 0, to: Self.csv.count, by: 4096).map {
        Self.csv[$0 ..< min($0 + 4096, Self.csv.count)]
      }
    )
    #expect(parts.count < Self.csv.count / 3)
  }
}
