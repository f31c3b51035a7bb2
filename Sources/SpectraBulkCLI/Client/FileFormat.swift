internal import ArgumentParser
internal import BulkProto

/// The formats of files the client loads and writes.
enum FileFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case csv, json

  /// The format a file name says: `.csv`, `.json`, `.ndjson`, `.jsonl`; `nil` for others.
  init?(fileName: String) {
    let name = fileName.lowercased()
    if name.hasSuffix(".csv") {
      self = .csv
    } else if [".json", ".ndjson", ".jsonl"].contains(where: { name.hasSuffix($0) }) {
      self = .json
    } else {
      return nil
    }
  }

  /// The job's content type for this format.
  var contentType: Spectra_Bulk_V1_ContentType {
    switch self {
    case .csv: .csv
    case .json: .json
    }
  }
}
