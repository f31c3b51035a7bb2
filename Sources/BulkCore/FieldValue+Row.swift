package import Foundation

/// The neutral binary encoding of typed rows, below the transports: the upload spool keeps
/// record-batch rows in it and result files keep typed results in it, whatever surface they came
/// from or go to.
///
/// A row is its values one after the other, each a tag byte and its payload: nothing for NULL,
/// 8 bytes little endian for integers, doubles (their bits) and timestamps (microseconds since
/// 1970), 1 byte for booleans, a little-endian `UInt32` length and the bytes for text, numbers
/// and bytes. So the encoding of two rows one after the other is that of the row of both. A frame
/// is a row after its little-endian `UInt32` length.
extension FieldValue {
  private enum Tag: UInt8 {
    case null = 0
    case text = 1
    case number = 2
    case integer = 3
    case double = 4
    case bool = 5
    case bytes = 6
    case timestamp = 7
    /// A timestamp too far from 1970 for microseconds in 64 bits: the bits of its seconds.
    case distantTimestamp = 8
  }

  /// The encoding of a row of values.
  package static func encodeRow(_ values: some Sequence<FieldValue>) -> Data {
    var data = Data()
    Self.encodeRow(values, into: &data)
    return data
  }

  /// Appends the encoding of a row of values to `data`.
  package static func encodeRow(_ values: some Sequence<FieldValue>, into data: inout Data) {
    for value in values {
      value.encode(into: &data)
    }
  }

  /// Appends a frame of a row: its encoding's length, then its encoding.
  package static func appendFrame(_ values: some Sequence<FieldValue>, to data: inout Data) {
    let lengthAt = data.endIndex
    Self.append(UInt32(0), to: &data)
    Self.encodeRow(values, into: &data)
    let length = UInt32(data.endIndex - lengthAt - 4).littleEndian
    withUnsafeBytes(of: length) { data.replaceSubrange(lengthAt ..< lengthAt + 4, with: $0) }
  }

  /// Decodes what `encodeRow` wrote; `nil` for bytes it did not write.
  package static func decodeRow(_ data: Data) -> [FieldValue]? {
    data.withUnsafeBytes { Self.decodeRow($0) }
  }

  /// Decodes what `encodeRow` wrote; `nil` for bytes it did not write.
  package static func decodeRow(_ raw: UnsafeRawBufferPointer) -> [FieldValue]? {
    var index = 0
    func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
      let size = MemoryLayout<T>.size
      guard index + size <= raw.count else { return nil }
      defer { index += size }
      return T(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: T.self))
    }
    func bytes() -> UnsafeRawBufferPointer? {
      guard let length = integer(UInt32.self).map(Int.init), index + length <= raw.count else { return nil }
      defer { index += length }
      return UnsafeRawBufferPointer(rebasing: raw[index ..< index + length])
    }
    var values: [FieldValue] = []
    while index < raw.count {
      guard let tag = Tag(rawValue: raw[index]) else { return nil }
      index += 1
      switch tag {
      case .null:
        values.append(.null)
      case .text:
        guard let text = bytes() else { return nil }
        values.append(.text(String(decoding: text, as: UTF8.self)))
      case .number:
        guard let literal = bytes() else { return nil }
        values.append(.number(String(decoding: literal, as: UTF8.self)))
      case .integer:
        guard let integer = integer(Int64.self) else { return nil }
        values.append(.integer(integer))
      case .double:
        guard let bits = integer(UInt64.self) else { return nil }
        values.append(.double(Double(bitPattern: bits)))
      case .bool:
        guard let flag = integer(UInt8.self) else { return nil }
        values.append(.bool(flag != 0))
      case .bytes:
        guard let raw = bytes() else { return nil }
        values.append(.bytes(Array(raw)))
      case .timestamp:
        guard let microseconds = integer(Int64.self) else { return nil }
        values.append(.timestamp(Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)))
      case .distantTimestamp:
        guard let bits = integer(UInt64.self) else { return nil }
        values.append(.timestamp(Date(timeIntervalSince1970: Double(bitPattern: bits))))
      }
    }
    return values
  }

  /// The rows of frames one after the other (`appendFrame`); `nil` when the bytes are not that.
  package static func rows(inFrames data: Data) -> [[FieldValue]]? {
    data.withUnsafeBytes { raw in
      var rows: [[FieldValue]] = []
      var index = 0
      while index < raw.count {
        guard index + 4 <= raw.count else { return nil }
        let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
        index += 4
        guard index + length <= raw.count,
          let row = Self.decodeRow(UnsafeRawBufferPointer(rebasing: raw[index ..< index + length]))
        else { return nil }
        rows.append(row)
        index += length
      }
      return rows
    }
  }

  private func encode(into data: inout Data) {
    switch self {
    case .null:
      data.append(Tag.null.rawValue)
    case .text(var text):
      data.append(Tag.text.rawValue)
      text.withUTF8 { Self.appendSized(UnsafeRawBufferPointer($0), to: &data) }
    case .number(var literal):
      data.append(Tag.number.rawValue)
      literal.withUTF8 { Self.appendSized(UnsafeRawBufferPointer($0), to: &data) }
    case .integer(let integer):
      data.append(Tag.integer.rawValue)
      Self.append(integer, to: &data)
    case .double(let double):
      data.append(Tag.double.rawValue)
      Self.append(double.bitPattern, to: &data)
    case .bool(let bool):
      data.append(Tag.bool.rawValue)
      data.append(bool ? 1 : 0)
    case .bytes(let bytes):
      data.append(Tag.bytes.rawValue)
      bytes.withUnsafeBytes { Self.appendSized($0, to: &data) }
    case .timestamp(let date):
      if let microseconds = Int64(exactly: (date.timeIntervalSince1970 * 1_000_000).rounded()) {
        data.append(Tag.timestamp.rawValue)
        Self.append(microseconds, to: &data)
      } else {
        data.append(Tag.distantTimestamp.rawValue)
        Self.append(date.timeIntervalSince1970.bitPattern, to: &data)
      }
    }
  }

  private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
    withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
  }

  private static func appendSized(_ bytes: UnsafeRawBufferPointer, to data: inout Data) {
    Self.append(UInt32(bytes.count), to: &data)
    data.append(contentsOf: bytes)
  }
}
