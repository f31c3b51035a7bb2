/// A random CSV document, with the fields it encodes, for property tests.
struct RandomCSV {
  /// The encoded bytes, a byte order mark included when `hasBOM`.
  var bytes: [UInt8] = []
  var hasBOM = false
  var header: [String] = []
  var records: [[String]] = []
  /// The bytes of blank lines after the last record.
  var trailingBlankBytes = 0

  /// Pieces that fields are made of: plain text, the delimiter, quotes, line ends, spaces and
  /// multi-byte UTF-8.
  private static let fragments = [
    "a", "b", "Z", "42", " ", ",", "\"", "\"\"", "\n", "\r\n", "\r", "é", "日本", "😀", "\t", "x y", "=1+2",
  ]

  /// A document with 1 to 6 columns and up to `maxRecords` records.
  init(using random: inout SplitMix64, maxRecords: Int) {
    self.hasBOM = random.oneIn(4)
    if self.hasBOM {
      self.bytes = [0xEF, 0xBB, 0xBF]
    }
    let columns = Int.random(in: 1 ... 6, using: &random)
    if random.oneIn(8) {
      self.appendBlankLine(using: &random)
    }
    self.header = (0 ..< columns).map { index in
      random.oneIn(3) ? "col, \"\(index)\"" : "col\(index)"
    }
    let recordCount = random.oneIn(10) ? 0 : Int.random(in: 1 ... maxRecords, using: &random)
    self.append(self.header, using: &random)
    self.trailingBlankBytes = 0
    for _ in 0 ..< recordCount {
      let fields = (0 ..< columns).map { _ in Self.field(using: &random) }
      self.records.append(fields)
      self.trailingBlankBytes = 0
      self.append(fields, using: &random)
      if random.oneIn(10) {
        self.appendBlankLine(using: &random)
      }
    }
    if random.oneIn(4) && self.trailingBlankBytes == 0 && !self.records.isEmpty {
      self.removeLastLineEnd()
    }
  }

  private static func field(using random: inout SplitMix64) -> String {
    let count = random.oneIn(5) ? 0 : Int.random(in: 1 ... 6, using: &random)
    return (0 ..< count).map { _ in Self.fragments.randomElement(using: &random)! }.joined()
  }

  private mutating func append(_ fields: [String], using random: inout SplitMix64) {
    for (index, field) in fields.enumerated() {
      if index > 0 {
        self.bytes.append(UInt8(ascii: ","))
      }
      let special = field.utf8.contains { $0 == UInt8(ascii: ",") || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
      let onlyField = fields.count == 1 && field.isEmpty
      if special || onlyField || random.oneIn(4) {
        self.bytes.append(0x22)
        for byte in field.utf8 {
          self.bytes.append(byte)
          if byte == 0x22 {
            self.bytes.append(0x22)
          }
        }
        self.bytes.append(0x22)
      } else {
        self.bytes.append(contentsOf: field.utf8)
      }
    }
    self.bytes.append(contentsOf: random.oneIn(2) ? [0x0D, 0x0A] : [0x0A])
  }

  private mutating func appendBlankLine(using random: inout SplitMix64) {
    let line: [UInt8] = random.oneIn(2) ? [0x0D, 0x0A] : [0x0A]
    self.bytes.append(contentsOf: line)
    self.trailingBlankBytes += line.count
  }

  private mutating func removeLastLineEnd() {
    self.bytes.removeLast()
    if self.bytes.last == 0x0D {
      self.bytes.removeLast()
    }
  }

  /// The bytes without the byte order mark.
  var bytesWithoutBOM: [UInt8] {
    Array(self.bytes.dropFirst(self.hasBOM ? 3 : 0))
  }
}
