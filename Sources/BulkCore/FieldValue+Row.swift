package import Foundation

extension FieldValue {
  /// Encodes a row of values for a result file: per value a tag byte and its payload (8 bytes
  /// little endian for integers, doubles and timestamps, 1 byte for booleans, a little-endian
  /// `UInt32` length and the bytes for text, numbers and bytes).
  package static func encodeRow(_ values: [FieldValue]) -> Data {
    var data = Data()
    func appendInteger<T: FixedWidthInteger>(_ value: T) {
      var little = value.littleEndian
      withUnsafeBytes(of: &little) { data.append(contentsOf: $0) }
    }
    func appendBytes(_ bytes: some Collection<UInt8>) {
      appendInteger(UInt32(bytes.count))
      data.append(contentsOf: bytes)
    }
    for value in values {
      switch value {
      case .null: data.append(0)
      case .text(let text):
        data.append(1)
        appendBytes(Array(text.utf8))
      case .number(let literal):
        data.append(2)
        appendBytes(Array(literal.utf8))
      case .integer(let integer):
        data.append(3)
        appendInteger(integer)
      case .double(let double):
        data.append(4)
        appendInteger(double.bitPattern)
      case .bool(let bool):
        data.append(5)
        data.append(bool ? 1 : 0)
      case .bytes(let bytes):
        data.append(6)
        appendBytes(bytes)
      case .timestamp(let date):
        data.append(7)
        appendInteger(Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
      }
    }
    return data
  }

  /// Decodes what `encodeRow` wrote; `nil` for bytes it did not write.
  package static func decodeRow(_ data: Data) -> [FieldValue]? {
    let bytes = [UInt8](data)
    var index = 0
    func readInteger<T: FixedWidthInteger>(_: T.Type) -> T? {
      let size = MemoryLayout<T>.size
      guard index + size <= bytes.count else { return nil }
      defer { index += size }
      return bytes[index ..< index + size].reversed().reduce(T.zero) { $0 << 8 | T($1) }
    }
    func readBytes() -> ArraySlice<UInt8>? {
      guard let length = readInteger(UInt32.self).map(Int.init), index + length <= bytes.count else { return nil }
      defer { index += length }
      return bytes[index ..< index + length]
    }
    var values: [FieldValue] = []
    while index < bytes.count {
      let tag = bytes[index]
      index += 1
      switch tag {
      case 0: values.append(.null)
      case 1:
        guard let text = readBytes() else { return nil }
        values.append(.text(String(decoding: text, as: UTF8.self)))
      case 2:
        guard let literal = readBytes() else { return nil }
        values.append(.number(String(decoding: literal, as: UTF8.self)))
      case 3:
        guard let integer = readInteger(Int64.self) else { return nil }
        values.append(.integer(integer))
      case 4:
        guard let bits = readInteger(UInt64.self) else { return nil }
        values.append(.double(Double(bitPattern: bits)))
      case 5:
        guard index < bytes.count else { return nil }
        values.append(.bool(bytes[index] != 0))
        index += 1
      case 6:
        guard let raw = readBytes() else { return nil }
        values.append(.bytes(Array(raw)))
      case 7:
        guard let microseconds = readInteger(Int64.self) else { return nil }
        values.append(.timestamp(Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)))
      default: return nil
      }
    }
    return values
  }
}
