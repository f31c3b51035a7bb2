internal import BulkFormats

/// A random JSON document (an array of objects or newline-delimited objects), with the values it
/// encodes, for property tests.
struct RandomJSON {
  /// The encoded bytes.
  var bytes: [UInt8] = []
  /// Whether the document is one array (else newline-delimited).
  var isArray: Bool
  /// The records' members.
  var records: [[(key: String, value: JSONValue)]] = []
  /// Each record's bytes as written, from `{` to `}`.
  var objectTexts: [[UInt8]] = []
  /// Each record's stream offset.
  var offsets: [Int64] = []

  private static let characters: [String] = [
    "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "é", "日", "😀", "{", "}", "[", "]", ",", ":",
  ]
  private static let numbers = ["0", "-0", "7", "-12", "3.25", "1e9", "2E-3", "-0.5e+10", "12345678901234567890.5"]

  /// A document of up to `maxRecords` records.
  init(using random: inout SplitMix64, isArray: Bool, maxRecords: Int) {
    self.isArray = isArray
    let count = random.oneIn(10) ? 0 : Int.random(in: 1 ... maxRecords, using: &random)
    if isArray {
      self.whitespace(using: &random, newlines: true)
      self.bytes.append(UInt8(ascii: "["))
    }
    for index in 0 ..< count {
      if isArray {
        if index > 0 {
          self.bytes.append(UInt8(ascii: ","))
        }
        self.whitespace(using: &random, newlines: true)
      } else {
        while random.oneIn(6) {
          self.whitespace(using: &random, newlines: false)
          self.bytes.append(0x0A)
        }
      }
      let members = Self.members(using: &random, depth: 0)
      self.records.append(members)
      self.offsets.append(Int64(self.bytes.count))
      let start = self.bytes.count
      self.writeObject(members, using: &random, newlines: isArray)
      self.objectTexts.append(Array(self.bytes[start...]))
      if isArray {
        self.whitespace(using: &random, newlines: true)
      } else {
        self.whitespace(using: &random, newlines: false)
        if index < count - 1 || !random.oneIn(3) {
          self.bytes.append(contentsOf: random.oneIn(3) ? [0x0D, 0x0A] : [0x0A])
        }
      }
    }
    if isArray {
      self.bytes.append(UInt8(ascii: "]"))
      self.whitespace(using: &random, newlines: true)
    } else if count == 0 {
      self.bytes.append(contentsOf: Array("{\"only\":1}\n".utf8))
      self.records.append([("only", .number("1"))])
      self.offsets.append(Int64(self.bytes.count - 11))
      self.objectTexts.append(Array("{\"only\":1}".utf8))
    }
  }

  private static func members(using random: inout SplitMix64, depth: Int) -> [(key: String, value: JSONValue)] {
    let count = Int.random(in: 0 ... 4, using: &random)
    return (0 ..< count).map { index in
      ("k\(index)" + Self.string(using: &random), Self.value(using: &random, depth: depth + 1))
    }
  }

  private static func value(using random: inout SplitMix64, depth: Int) -> JSONValue {
    switch Int.random(in: 0 ..< (depth < 3 ? 7 : 5), using: &random) {
    case 0: return .null
    case 1: return .bool(random.oneIn(2))
    case 2: return .number(Self.numbers.randomElement(using: &random)!)
    case 3, 4: return .string(Self.string(using: &random))
    case 5:
      return .array(
        (0 ..< Int.random(in: 0 ... 3, using: &random)).map { _ in Self.value(using: &random, depth: depth + 1) }
      )
    default: return .object(Self.members(using: &random, depth: depth))
    }
  }

  private static func string(using random: inout SplitMix64) -> String {
    (0 ..< Int.random(in: 0 ... 5, using: &random)).map { _ in Self.characters.randomElement(using: &random)! }.joined()
  }

  private mutating func whitespace(using random: inout SplitMix64, newlines: Bool) {
    let choices: [UInt8] = newlines ? [0x20, 0x09, 0x0A, 0x0D] : [0x20, 0x09]
    for _ in 0 ..< (random.oneIn(2) ? 0 : Int.random(in: 1 ... 3, using: &random)) {
      self.bytes.append(choices.randomElement(using: &random)!)
    }
  }

  private mutating func writeObject(
    _ members: [(key: String, value: JSONValue)],
    using random: inout SplitMix64,
    newlines: Bool
  ) {
    self.bytes.append(UInt8(ascii: "{"))
    for (index, member) in members.enumerated() {
      if index > 0 {
        self.bytes.append(UInt8(ascii: ","))
      }
      self.whitespace(using: &random, newlines: newlines)
      self.writeString(member.key, using: &random)
      self.whitespace(using: &random, newlines: newlines)
      self.bytes.append(UInt8(ascii: ":"))
      self.whitespace(using: &random, newlines: newlines)
      self.write(member.value, using: &random, newlines: newlines)
      self.whitespace(using: &random, newlines: newlines)
    }
    self.bytes.append(UInt8(ascii: "}"))
  }

  private mutating func write(_ value: JSONValue, using random: inout SplitMix64, newlines: Bool) {
    switch value {
    case .null: self.bytes.append(contentsOf: Array("null".utf8))
    case .bool(let flag): self.bytes.append(contentsOf: Array((flag ? "true" : "false").utf8))
    case .number(let literal): self.bytes.append(contentsOf: Array(literal.utf8))
    case .string(let string): self.writeString(string, using: &random)
    case .array(let elements):
      self.bytes.append(UInt8(ascii: "["))
      for (index, element) in elements.enumerated() {
        if index > 0 {
          self.bytes.append(UInt8(ascii: ","))
        }
        self.whitespace(using: &random, newlines: newlines)
        self.write(element, using: &random, newlines: newlines)
      }
      self.bytes.append(UInt8(ascii: "]"))
    case .object(let members):
      self.writeObject(members, using: &random, newlines: newlines)
    }
  }

  /// Writes a string, escaping what must be and, at random, more: `\uXXXX` (surrogate pairs past
  /// the BMP), `\/` and the short escapes.
  private mutating func writeString(_ string: String, using random: inout SplitMix64) {
    self.bytes.append(0x22)
    for scalar in string.unicodeScalars {
      let value = scalar.value
      if random.oneIn(4) || value < 0x20 {
        if let short = ["\"": "\\\"", "\\": "\\\\", "/": "\\/", "\n": "\\n", "\t": "\\t"][Character(scalar)],
          random.oneIn(2)
        {
          self.bytes.append(contentsOf: Array(short.utf8))
        } else if value >= 0x10000 {
          let offset = value - 0x10000
          self.appendEscape(0xD800 + (offset >> 10), uppercase: random.oneIn(2))
          self.appendEscape(0xDC00 + (offset & 0x3FF), uppercase: random.oneIn(2))
        } else {
          self.appendEscape(value, uppercase: random.oneIn(2))
        }
      } else if scalar == "\"" || scalar == "\\" {
        self.bytes.append(0x5C)
        self.bytes.append(contentsOf: Array(String(scalar).utf8))
      } else {
        self.bytes.append(contentsOf: Array(String(scalar).utf8))
      }
    }
    self.bytes.append(0x22)
  }

  private mutating func appendEscape(_ value: UInt32, uppercase: Bool) {
    let hex = String(value, radix: 16, uppercase: uppercase)
    self.bytes.append(contentsOf: Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8))
  }

  /// The bytes a splitter gives for an array: each object followed by a line feed.
  var normalizedObjects: [UInt8] {
    self.objectTexts.flatMap { $0 + [0x0A] }
  }
}
