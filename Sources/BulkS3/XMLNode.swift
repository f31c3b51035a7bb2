internal import Foundation
internal import NIOCore
internal import NIOFoundationCompat
#if canImport(FoundationXML)
internal import FoundationXML
#endif

/// A small XML tree, enough for S3's and STS's answers: elements, their text, their children.
/// Namespaces are ignored (names are local names).
final class XMLNode {
  let name: String
  var text = ""
  var children: [XMLNode] = []

  init(name: String) { self.name = name }

  /// The first child (or, for the document, the root) named `name`, at any depth below this one
  /// when not a child.
  func first(_ name: String) -> XMLNode? {
    if let child = self.children.first(where: { $0.name == name }) { return child }
    for child in self.children {
      if let found = child.first(name) { return found }
    }
    return nil
  }

  /// The children named `name`.
  func all(_ name: String) -> [XMLNode] { self.children.filter { $0.name == name } }

  /// The text of the child named `name`.
  func text(_ name: String) -> String? { self.children.first(where: { $0.name == name })?.text }

  /// The tree of `bytes`, under a nameless document node.
  static func parse(_ bytes: ByteBuffer) throws -> XMLNode {
    let builder = Builder()
    let parser = XMLParser(data: Data(buffer: bytes))
    parser.shouldProcessNamespaces = true
    parser.delegate = builder
    guard parser.parse() else { throw XMLParseFailure() }
    return builder.document
  }

  struct XMLParseFailure: Error {}

  private final class Builder: NSObject, XMLParserDelegate {
    let document = XMLNode(name: "")
    private var stack: [XMLNode] = []

    override init() {
      super.init()
      self.stack = [self.document]
    }

    func parser(
      _ parser: XMLParser,
      didStartElement elementName: String,
      namespaceURI: String?,
      qualifiedName: String?,
      attributes: [String: String]
    ) {
      let node = XMLNode(name: elementName)
      self.stack.last?.children.append(node)
      self.stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
      self.stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      self.stack.last?.text += string
    }
  }
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for element content.
func xmlEscaped(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.count)
  for character in text {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default: out.append(character)
    }
  }
  return out
}
