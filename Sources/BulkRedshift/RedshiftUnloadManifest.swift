internal import BulkCore
internal import Foundation

/// The manifest `UNLOAD … MANIFEST VERBOSE` writes: the parts in the order they are read, each
/// with its size in bytes and its rows when the cluster wrote them.
struct RedshiftUnloadManifest: Decodable {
  /// One part.
  struct Entry: Decodable {
    /// `s3://bucket/key`.
    var url: String
    var meta: Meta?
  }

  /// What the manifest tells of a part.
  struct Meta: Decodable {
    /// The part's bytes as stored (gzip).
    var contentLength: Int64?
    /// The rows in the part.
    var recordCount: Int64?

    enum CodingKeys: String, CodingKey {
      case contentLength = "content_length"
      case recordCount = "record_count"
    }
  }

  var entries: [Entry]

  /// Reads the manifest of `unload` from `bytes`, and checks that every part it lists is in the
  /// unload's own folder (`unload.destination`), the only place this job's parts may be.
  ///
  /// - Returns: each part's key, with what the manifest tells of it.
  static func parts(of unload: RedshiftUnload, from bytes: Data) throws -> [(key: String, meta: Meta?)] {
    let manifest: RedshiftUnloadManifest
    do {
      manifest = try JSONDecoder().decode(RedshiftUnloadManifest.self, from: bytes)
    } catch {
      throw BulkError(
        code: .internal,
        message: "the UNLOAD manifest s3://\(unload.bucket)/\(unload.manifestKey) cannot be read: it is not "
          + "{\"entries\": [{\"url\": …}, …]}",
        cause: error
      )
    }
    let prefix = "s3://\(unload.bucket)/"
    return try manifest.entries.map { entry in
      guard entry.url.hasPrefix(prefix), entry.url.dropFirst(prefix.count).hasPrefix(unload.destination) else {
        throw BulkError(
          code: .internal,
          message: "the UNLOAD manifest s3://\(unload.bucket)/\(unload.manifestKey) lists \(entry.url), "
            + "which is not under the unload's folder s3://\(unload.bucket)/\(unload.destination)"
        )
      }
      return (String(entry.url.dropFirst(prefix.count)), entry.meta)
    }
  }
}
