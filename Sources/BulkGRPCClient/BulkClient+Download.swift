package import BulkProto
package import Foundation
internal import GRPCCore
internal import SwiftProtobuf
internal import Synchronization

extension BulkClient {
  /// Streams result set `set` of job `id` to `write` as one document, in calls of `pageRecords`
  /// records (0: all in one call) joined by their locators, typed record-batch rows as CSV;
  /// returns the number of records.
  ///
  /// A call that fails for a transient reason before its first chunk is repeated with backoff;
  /// once bytes of a page are written, a failure ends the download.
  package func download(
    _ id: String,
    set: Spectra_Bulk_V1_ResultSet,
    format: DocumentJoiner.Format,
    pageRecords: Int64,
    retry: RetryPolicy,
    progress: any ClientProgress,
    write: @escaping @Sendable (Data) throws -> Void
  ) async throws -> Int64 {
    var joiner = DocumentJoiner(format: format)
    var locator = ""
    var records: Int64 = 0
    repeat {
      let request = Spectra_Bulk_V1_GetJobResultsRequest.with {
        $0.jobID = id
        $0.resultSet = set
        $0.locator = locator
        $0.maxRecords = pageRecords
      }
      let started = StartedFlag()
      let page = try await retry.run("the download of \(id)", notes: progress, unless: started) { [joiner] in
        try await self.results(request) { response in
          var joiner = joiner
          var count: Int64 = 0
          var next = ""
          try write(joiner.beginPage())
          var chunks = 0
          for try await chunk in response.messages {
            started.set()
            // Typed rows (record-batch jobs) are written as CSV, a header line in each call.
            let data = chunk.hasRecords ? chunk.records.csv(header: chunks == 0) : chunk.data
            chunks += 1
            try write(joiner.feed(data))
            count += chunk.recordCount
            next = chunk.nextLocator
          }
          joiner.endPage()
          return (joiner, count, next)
        }
      }
      (joiner, locator) = (page.0, page.2)
      records += page.1
    } while !locator.isEmpty
    try write(joiner.finish())
    return records
  }
}

/// Set once the first chunk of a call has arrived, after which the call is not repeated.
package final class StartedFlag: Sendable {
  private let value = Mutex(false)

  /// Whether ``set()`` was called.
  var isSet: Bool { self.value.withLock { $0 } }

  /// Marks the call as started.
  func set() {
    self.value.withLock { $0 = true }
  }
}
