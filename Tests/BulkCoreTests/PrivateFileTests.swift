import BulkCore
import Foundation
import Testing

@Suite("PrivateFile")
struct PrivateFileTests {
  static func withFolder(_ body: (String) throws -> Void) throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("private-file-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try body(folder)
  }

  static func mode(_ path: String) throws -> Int {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
  }

  @Test("a key is written whole with mode 0600, over an older file, leaving no temporary file")
  func write() throws {
    try Self.withFolder { folder in
      let path = "\(folder)/upload-signing.key"
      try PrivateFile.write(Array(repeating: 7, count: 32), to: path)
      #expect(try Self.mode(path) == 0o600)
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(repeating: 7, count: 32))

      // A file another version left readable is replaced by a private one, not reused.
      let readable: [FileAttributeKey: Any] = [.posixPermissions: 0o644]
      #expect(FileManager.default.createFile(atPath: path, contents: Data("old".utf8), attributes: readable))
      try PrivateFile.write([1, 2, 3], to: path)
      #expect(try Self.mode(path) == 0o600)
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
      #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["upload-signing.key"])
    }
  }

  @Test("create makes an empty 0600 file and leaves an existing one as it is")
  func create() throws {
    try Self.withFolder { folder in
      let path = "\(folder)/catalog.sqlite"
      try PrivateFile.create(path)
      #expect(try Self.mode(path) == 0o600)
      try Data("kept".utf8).write(to: URL(fileURLWithPath: path))
      try PrivateFile.create(path)
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("kept".utf8))
      #expect(throws: PrivateFileError.self) { try PrivateFile.create("\(folder)/missing/catalog.sqlite") }
    }
  }
}
