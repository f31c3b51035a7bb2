package import Foundation

/// Joins the pages of one result set into one document.
///
/// Every `GetJobResults` call returns a complete document (CSV with its header line, or a JSON
/// array), so the pages fetched with locators are joined by dropping the header of every CSV page
/// after the first, and by merging JSON arrays: `[a,b]` and `[c]` become `[a,b,c]`. Bytes are
/// passed on as they come, holding back only a page's closing `]`.
package struct DocumentJoiner: Sendable {
  /// The formats of result documents.
  package enum Format: Sendable {
    case csv
    case json
  }

  let format: Format
  /// Pages begun so far.
  private var pages = 0
  /// CSV: the header line of the current page is still being skipped.
  private var skippingHeader = false
  /// CSV: inside a quoted field of the header being skipped.
  private var inQuotes = false
  /// JSON: the current page's opening `[` has been read.
  private var opened = false
  /// JSON: the bytes of the current page from its last non-space byte on (its `]` at the end).
  private var held: [UInt8] = []
  /// JSON: whether an element has been written, so the next one needs a comma.
  private var wroteElement = false
  /// JSON: whether the current page has written an element.
  private var pageWroteElement = false

  package init(format: Format) {
    self.format = format
  }

  /// Starts a page; returns what to write before its bytes.
  package mutating func beginPage() -> Data {
    defer { self.pages += 1 }
    switch self.format {
    case .csv:
      self.skippingHeader = self.pages > 0
      self.inQuotes = false
      return Data()
    case .json:
      self.opened = false
      self.held = []
      self.pageWroteElement = false
      return self.pages == 0 ? Data("[".utf8) : Data()
    }
  }

  /// The bytes of `data`, a piece of the current page, to write.
  package mutating func feed(_ data: Data) -> Data {
    switch self.format {
    case .csv: return self.feedCSV(data)
    case .json: return self.feedJSON(data)
    }
  }

  /// Ends the current page.
  package mutating func endPage() {
    self.held = []
  }

  /// What to write after the last page: a JSON array's `]` (the whole `[]` when there was no
  /// page at all).
  package mutating func finish() -> Data {
    guard self.format == .json else { return Data() }
    return Data((self.pages == 0 ? "[]" : "]").utf8)
  }

  private mutating func feedCSV(_ data: Data) -> Data {
    guard self.skippingHeader else { return data }
    for index in data.indices {
      switch data[index] {
      case UInt8(ascii: "\""): self.inQuotes.toggle()
      case UInt8(ascii: "\n") where !self.inQuotes:
        self.skippingHeader = false
        return data[(index + 1)...]
      default: break
      }
    }
    return Data()
  }

  private mutating func feedJSON(_ data: Data) -> Data {
    var bytes = data[...]
    if !self.opened {
      guard let first = bytes.firstIndex(where: { !Self.isSpace($0) }) else { return Data() }
      bytes = bytes[first...]
      if bytes.first == UInt8(ascii: "[") { bytes = bytes.dropFirst() }
      self.opened = true
    }
    self.held.append(contentsOf: bytes)
    guard let last = self.held.lastIndex(where: { !Self.isSpace($0) }) else { return Data() }
    let ready = self.held[..<last]
    var output = Data()
    if !self.pageWroteElement, ready.contains(where: { !Self.isSpace($0) }) {
      if self.wroteElement { output.append(UInt8(ascii: ",")) }
      self.pageWroteElement = true
      self.wroteElement = true
    }
    output.append(contentsOf: ready)
    self.held.removeSubrange(..<last)
    return output
  }

  private static func isSpace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
  }
}
