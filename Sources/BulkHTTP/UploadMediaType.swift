internal import BulkCore

/// Which `Content-Type` and `Content-Encoding` an upload `PUT` may carry for its job.
///
/// The job, not the header, says what the bytes are; the header is checked so that a client
/// sending the wrong file (or curl's default form encoding) learns it at once with a 415.
enum UploadMediaType {
  /// The media types a job accepts: its format's, and for gzip jobs also the generic binary ones.
  static func accepted(by job: Job) -> [String] {
    var types: [String]
    switch job.contentType {
    case .csv: types = ["text/csv"]
    case .json: types = ["application/json", "application/x-ndjson"]
    case .recordBatch: types = []
    }
    if job.compression == .gzip {
      types += ["application/gzip", "application/x-gzip", "application/octet-stream"]
    }
    return types
  }

  /// Checks the headers of an upload to `job`; a missing `Content-Type` is accepted.
  ///
  /// - Throws: a 415 `RESTError` naming what the job takes.
  static func check(contentType: String?, contentEncoding: String?, for job: Job) throws(RESTError) {
    if job.contentType == .recordBatch {
      throw .unsupportedMediaType("a RECORD_BATCH job takes typed records over gRPC; REST uploads CSV or JSON")
    }
    let accepted = Self.accepted(by: job)
    if let contentType, !contentType.isEmpty {
      let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
      let normalized = mediaType.trimmingSpaces.lowercased()
      guard accepted.contains(normalized) else {
        throw .unsupportedMediaType(
          "Content-Type '\(mediaType.prefix(80))' does not fit this \(job.contentType.rawValue) job: send \(accepted.joined(separator: " or "))"
        )
      }
    }
    if let contentEncoding, !contentEncoding.isEmpty {
      switch contentEncoding.trimmingSpaces.lowercased() {
      case "identity":
        break
      case "gzip" where job.compression == .gzip:
        break
      default:
        throw .unsupportedMediaType(
          "Content-Encoding '\(contentEncoding.prefix(40))' does not fit this job (compression \(job.compression.rawValue)); gzip data goes to a job created with compression GZIP"
        )
      }
    }
  }
}

extension String {
  /// The string without leading and trailing spaces and tabs.
  fileprivate var trimmingSpaces: String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
  }
}
