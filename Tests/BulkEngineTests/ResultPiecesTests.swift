import BulkCore
import BulkTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import BulkEngine

/// Result files encoded into one reused buffer, and read back in pieces of about
/// `ResultStore.pieceBytes`.
@Suite("result pieces")
struct ResultPiecesTests {
  /// `count` CSV records from `first` on, and where each starts.
  static func records(from first: Int, count: Int) -> EncodedRecords {
    var records = EncodedRecords()
    for number in first ..< first + count {
      records.append { $0.writeString("\(number),\(String(repeating: "x", count: number % 97))\n") }
    }
    return records
  }

  @Test("chunks written through one buffer read back whole, in pieces of at most 120 KiB and a record")
  func pieces() async throws {
    try await withTemporaryDirectory { directory in
      let storage = try FileJobStorage(stagingDirectory: "\(directory)/staging", resultsDirectory: "\(directory)/results")
      let store = ResultStore(storage: storage, ledger: StorageLedger(limits: Limits(), storage: storage))
      let job = try JobSpec(operation: .insert, object: "t").validated(id: "bulk-job-pieces", tenantID: "acme", now: Date())
      // The larger chunk first: the second must not keep any of its bytes.
      let chunks = [Self.records(from: 0, count: 6000), Self.records(from: 6000, count: 2000)]
      var file = ByteBuffer()
      for (index, records) in chunks.enumerated() {
        try store.writeChunkBlocking(of: job, chunk: index, sets: [.query: records], into: &file)
      }

      let pieces = Mutex<[ResultPiece]>([])
      let next = try await store.read(
        jobID: job.id,
        chunks: chunks.count,
        set: .query,
        locator: "",
        maxRecords: 0,
        framing: ResultFraming(opening: Array("n,x\n".utf8), separator: [], closing: [], trimsLineEnd: false)
      ) { piece in
        pieces.withLock { $0.append(piece) }
      }
      let read = pieces.withLock { $0 }
      let expected = "n,x\n" + chunks.map { String(buffer: $0.bytes) }.joined()
      #expect(next.isEmpty)
      #expect(String(decoding: read.map(\.data).reduce(Data(), +), as: UTF8.self) == expected)
      #expect(read.map(\.recordCount).reduce(0, +) == 8000)
      #expect(ResultStore.pieceBytes == 120 << 10)
      #expect(read.count > expected.utf8.count / ResultStore.pieceBytes)
      #expect(read.allSatisfy { $0.data.count <= ResultStore.pieceBytes + 110 })
    }
  }
}
