package import NIOCore

/// A run of whole records cut from an upload by `RecordSplitter`: the unit the engine applies in
/// one transaction.
package struct RecordChunk: Hashable, Sendable {
  /// The chunk's 0-based position in the upload.
  package var index: Int
  /// The 1-based number of the chunk's first record.
  package var firstRecord: Int64
  /// How many records the chunk holds.
  package var recordCount: Int
  /// The stream offset of the chunk's first byte (for a JSON array, of its first object).
  package var offset: Int64
  /// The records' bytes. For CSV and newline-delimited JSON exactly as in the input (blank lines
  /// included); for a JSON array the objects as in the input, each followed by a line feed.
  package var bytes: ByteBuffer

  /// A chunk.
  package init(index: Int, firstRecord: Int64, recordCount: Int, offset: Int64, bytes: ByteBuffer) {
    self.index = index
    self.firstRecord = firstRecord
    self.recordCount = recordCount
    self.offset = offset
    self.bytes = bytes
  }
}
