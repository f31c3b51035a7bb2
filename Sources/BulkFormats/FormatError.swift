package import BulkCore

/// Why a stream of uploaded bytes cannot be read: where, and the reason.
///
/// The message is written for the client. It names the byte offset, the record when it is known,
/// and the reason; it quotes at most a few dozen bytes of the input around the fault and never the
/// whole payload.
///
/// Internal: the engine turns it into a `BulkError` or a job's `error_message` with its message.
package struct FormatError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The kind of fault.
  package enum Kind: Hashable, Sendable {
    /// The bytes break the format: a quote, a field count, a JSON token, UTF-8, a gzip member.
    case malformed
    /// A size, ratio or nesting limit was reached.
    case limitExceeded
  }

  /// The kind of fault.
  package var kind: Kind
  /// The byte offset of the fault in the stream the reader was fed, counted from its start.
  package var offset: Int64
  /// The 1-based record the fault is in, when known; a CSV header is record 0.
  package var record: Int64?
  /// A readable explanation naming the offset or record and the reason.
  package var message: String

  /// An error of `kind` at `offset`, in `record` when it is known.
  package init(kind: Kind, offset: Int64, record: Int64?, message: String) {
    self.kind = kind
    self.offset = offset
    self.record = record
    self.message = message
  }

  /// The message.
  package var description: String { self.message }

  /// A `malformed` error.
  package static func malformed(_ message: String, offset: Int64, record: Int64? = nil) -> Self {
    Self(kind: .malformed, offset: offset, record: record, message: message)
  }

  /// A `limitExceeded` error.
  package static func limitExceeded(_ message: String, offset: Int64, record: Int64? = nil) -> Self {
    Self(kind: .limitExceeded, offset: offset, record: record, message: message)
  }

  /// The error as the domain reports it to a client: `INVALID_ARGUMENT` for malformed input,
  /// `RESOURCE_EXHAUSTED` for a limit.
  package var bulkError: BulkError {
    switch self.kind {
    case .malformed:
      return BulkError(code: .invalidArgument, message: self.message)
    case .limitExceeded:
      return BulkError(code: .resourceExhausted, message: self.message)
    }
  }
}

extension FormatError {
  /// The most input bytes a message quotes.
  static let contextLength = 40

  /// Up to `contextLength` bytes of `bytes` as a quoted string: printable ASCII as is, the rest
  /// as `\xNN`, and `…` when the bytes go on.
  static func quoted(_ bytes: UnsafeRawBufferPointer) -> String {
    var text = "\""
    for byte in bytes.prefix(Self.contextLength) {
      switch byte {
      case ASCII.quote:
        text += "\\\""
      case ASCII.backslash:
        text += "\\\\"
      case 0x20 ..< 0x7F:
        text.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        text += "\\x" + Self.hex(byte)
      }
    }
    if bytes.count > Self.contextLength {
      text += "…"
    }
    return text + "\""
  }

  /// One byte as it appears in a message: `'x'` for printable ASCII, `0xNN` otherwise.
  static func describe(byte: UInt8) -> String {
    switch byte {
    case ASCII.quote:
      return "'\"'"
    case 0x20 ..< 0x7F:
      return "'\(Character(Unicode.Scalar(byte)))'"
    default:
      return "0x" + Self.hex(byte)
    }
  }

  /// Names a record and where it starts: "record 7 at byte 1234", or "the header at byte 0" for
  /// the CSV header (record 0).
  static func place(record: Int64, offset: Int64, isHeader: Bool = false) -> String {
    isHeader ? "the header at byte \(offset)" : "record \(record) at byte \(offset)"
  }

  private static func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
  }
}
