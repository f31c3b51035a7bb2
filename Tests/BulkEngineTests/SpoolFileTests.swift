import BulkTestSupport
import Foundation
import Testing

@testable import BulkEngine

/// Appends written with `O_DIRECT` (`DirectAppends`): whole blocks go to the disk as they are
/// completed, the rest through the page cache before a sync, a read or a cut, so the file reads
/// as everything appended, whatever the sizes, and is never longer.
@Suite("SpoolFile: direct appends")
struct SpoolFileTests {
  /// Deterministic bytes, different at every offset of a block.
  static func bytes(_ count: Int, seed: Int) -> [UInt8] {
    (0 ..< count).map { UInt8(truncatingIfNeeded: ($0 &* 31) ^ seed) }
  }

  @Test("appends of any size read back whole, after a sync, a reopen and a cut")
  func appends() async throws {
    try await withTemporaryDirectory { directory in
      let path = "\(directory)/upload"
      var expected: [UInt8] = []
      do {
        let file = try SpoolFile(path: path, directAppends: true)
        #expect(file.appendsDirectly)
        // Sizes around the block and past the buffer (4 MiB).
        for (index, size) in [1, 4095, 1, 4096, 4097, 5 << 20, 3, 1 << 20].enumerated() {
          let piece = Self.bytes(size, seed: index)
          try file.append(piece)
          expected += piece
          #expect(file.size == Int64(expected.count))
          if index == 3 {
            // A read in the middle sees the partial block not yet on the disk.
            #expect(try file.read(at: Int64(expected.count - 10), maxLength: 100) == Data(expected.suffix(10)))
          }
        }
        try file.sync()
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(expected))
        try file.append(Self.bytes(10, seed: 99))
        expected += Self.bytes(10, seed: 99)
      }
      // Closed without a sync: what was appended is in the file, as through the page cache.
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(expected))

      let reopened = try SpoolFile(path: path, directAppends: true)
      #expect(reopened.size == Int64(expected.count))
      let cut = expected.count - 5000
      try reopened.truncate(to: Int64(cut))
      expected.removeLast(5000)
      try reopened.append(Self.bytes(7000, seed: 7))
      expected += Self.bytes(7000, seed: 7)
      try reopened.sync()
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(expected))
      #expect(try reopened.read(at: Int64(cut - 3), maxLength: 6) == Data(expected[(cut - 3) ..< (cut + 3)]))
    }
  }

  @Test("a direct write the file system refuses (an alignment it wants larger) falls back to the page cache")
  func refused() async throws {
    try await withTemporaryDirectory { directory in
      let path = "\(directory)/upload"
      // Blocks of 1000 bytes: no device takes direct writes of that length at those offsets.
      let file = try SpoolFile(path: path, directAppends: true, directBlock: 1000)
      #expect(file.appendsDirectly)
      var expected: [UInt8] = []
      for (index, size) in [700, 2500, 1, 9000].enumerated() {
        let piece = Self.bytes(size, seed: index)
        try file.append(piece)
        expected += piece
      }
      #expect(!file.appendsDirectly)
      try file.sync()
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(expected))
      #expect(try file.read(at: 690, maxLength: 20) == Data(expected[690 ..< 710]))
    }
  }
}
