internal import BulkCore
internal import Foundation
internal import Hummingbird

/// A request body as the upload pieces `JobService.upload` takes, read as it arrives.
///
/// The first piece names the job and carries no data, so the job is checked (found, `Open`)
/// before any byte is read. Body buffers are then gathered into pieces of about
/// `pieceSize` bytes, each with its offset in the job's upload; at most one piece is held.
struct UploadPieces<Body: AsyncSequence>: AsyncSequence where Body.Element == ByteBuffer {
  typealias Element = UploadPiece
  typealias Failure = any Error

  /// Bytes gathered into one piece; NIO delivers bodies in buffers of a few KiB.
  static var pieceSize: Int { 1 << 20 }

  let jobID: String
  let offset: Int64
  let body: Body

  func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(jobID: self.jobID, offset: self.offset, body: self.body.makeAsyncIterator())
  }

  struct AsyncIterator: AsyncIteratorProtocol {
    typealias Element = UploadPiece
    typealias Failure = any Error

    let jobID: String
    var offset: Int64
    var body: Body.AsyncIterator
    var named = false
    var finished = false

    init(jobID: String, offset: Int64, body: Body.AsyncIterator) {
      self.jobID = jobID
      self.offset = offset
      self.body = body
    }

    mutating func next() async throws -> UploadPiece? {
      guard self.named else {
        self.named = true
        return UploadPiece(jobID: self.jobID, offset: self.offset, payload: nil)
      }
      guard !self.finished else { return nil }
      var data = Data()
      while data.count < UploadPieces.pieceSize {
        guard let buffer = try await self.body.next() else {
          self.finished = true
          break
        }
        data.append(contentsOf: buffer.readableBytesView)
      }
      guard !data.isEmpty else { return nil }
      let piece = UploadPiece(jobID: self.jobID, offset: self.offset, payload: .bytes(data))
      self.offset += Int64(data.count)
      return piece
    }
  }
}
