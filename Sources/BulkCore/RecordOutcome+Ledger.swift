extension RecordOutcome {
  /// Encodes a chunk's outcomes for its ledger row: per record a tag byte (0 created, 1 updated
  /// or deleted, 2 failed), and for a failure its code and message, each a little-endian `UInt32`
  /// length and UTF-8 bytes.
  package static func ledgerBytes(_ outcomes: [RecordOutcome]) -> [UInt8] {
    var data: [UInt8] = []
    data.reserveCapacity(outcomes.count)
    func appendString(_ string: String) {
      withUnsafeBytes(of: UInt32(truncatingIfNeeded: string.utf8.count).littleEndian) { data.append(contentsOf: $0) }
      data.append(contentsOf: string.utf8)
    }
    for outcome in outcomes {
      switch outcome {
      case .succeeded(let created):
        data.append(created ? 0 : 1)
      case .failed(let code, let message):
        data.append(2)
        appendString(code)
        appendString(message)
      }
    }
    return data
  }

  /// Decodes what `ledgerBytes` wrote; `nil` for bytes it did not write.
  package static func fromLedgerBytes(_ bytes: [UInt8]) -> [RecordOutcome]? {
    var index = 0
    func readString() -> String? {
      guard index + 4 <= bytes.count else { return nil }
      let length = Int(
        UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
          | UInt32(bytes[index + 3]) << 24
      )
      index += 4
      guard index + length <= bytes.count else { return nil }
      defer { index += length }
      return String(decoding: bytes[index ..< index + length], as: UTF8.self)
    }
    var outcomes: [RecordOutcome] = []
    while index < bytes.count {
      let tag = bytes[index]
      index += 1
      switch tag {
      case 0: outcomes.append(.succeeded(created: true))
      case 1: outcomes.append(.succeeded(created: false))
      case 2:
        guard let code = readString(), let message = readString() else { return nil }
        outcomes.append(.failed(code: code, message: message))
      default: return nil
      }
    }
    return outcomes
  }
}
