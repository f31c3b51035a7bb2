internal import BulkGRPCClient
internal import BulkProto
internal import Foundation

/// Where a downloaded result set goes: a file (written in full, then renamed into place) or
/// standard output.
struct ResultFile {
  /// The path, or `nil` for standard output.
  let path: String?

  /// Downloads result set `set` of `job` here; returns the number of records.
  ///
  /// With `keepEmpty` false, a set without records leaves no file, and removes one a previous
  /// run left at the path, so that the files beside a loaded file always describe the last load.
  func download(
    _ set: Spectra_Bulk_V1_ResultSet,
    of job: Spectra_Bulk_V1_Job,
    with client: BulkClient,
    pageRecords: Int64,
    keepEmpty: Bool = true,
    retry: RetryPolicy,
    progress: ProgressDisplay
  ) async throws -> Int64 {
    let format: DocumentJoiner.Format = job.contentType == .json ? .json : .csv
    let partial = self.path.map { $0 + ".partial" }
    let handle: FileHandle
    if let partial {
      guard FileManager.default.createFile(atPath: partial, contents: nil),
        let file = FileHandle(forWritingAtPath: partial)
      else {
        throw ClientError("cannot write \(partial)")
      }
      handle = file
    } else {
      handle = FileHandle.standardOutput
    }
    let records: Int64
    do {
      defer { if partial != nil { try? handle.close() } }
      records = try await client.download(
        job.jobID,
        set: set,
        format: format,
        pageRecords: pageRecords,
        retry: retry,
        progress: progress
      ) { data in
        try handle.write(contentsOf: data)
      }
    } catch {
      if let partial { try? FileManager.default.removeItem(atPath: partial) }
      throw error
    }
    guard let path = self.path, let partial else { return records }
    if records == 0 && !keepEmpty {
      try? FileManager.default.removeItem(atPath: partial)
      try? FileManager.default.removeItem(atPath: path)
      return 0
    }
    guard rename(partial, path) == 0 else {
      throw ClientError("cannot rename \(partial) to \(path): \(String(cString: strerror(errno)))")
    }
    return records
  }
}
