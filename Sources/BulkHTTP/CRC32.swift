/// The CRC-32 of gzip (ISO 3309, reflected polynomial 0xEDB88320), computed incrementally.
struct CRC32 {
  private static let table: [UInt32] = (0 ..< 256).map { index in
    var value = UInt32(index)
    for _ in 0 ..< 8 {
      value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1
    }
    return value
  }

  private var state: UInt32 = 0xFFFF_FFFF

  /// The checksum of everything fed so far.
  var value: UInt32 { ~self.state }

  mutating func update(_ bytes: some Sequence<UInt8>) {
    var state = self.state
    Self.table.withUnsafeBufferPointer { table in
      for byte in bytes {
        state = table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8)
      }
    }
    self.state = state
  }
}
