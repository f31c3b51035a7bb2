internal import BulkCore
internal import Foundation
internal import Synchronization

/// A page of a result set read whole before its response starts, so that the response head can
/// carry the next locator and the record count.
///
/// The page is bounded by records (the caller's `max_records`) and by bytes: when the pieces
/// read pass `byteBound`, reading stops and the records that were read are read again, with
/// exactly that `max_records`, which yields their document and the locator after them. So a
/// page never holds much more than `byteBound`, whatever the records' size.
struct ResultPage: Sendable {
  /// The page as one document in the job's format (CSV with its header line, or a JSON array).
  var data: Data
  var recordCount: Int64
  /// The locator of what follows; empty when nothing is left.
  var locator: String

  /// Reads one result set from `locator`, at most `maxRecords` records, emitting pieces; returns
  /// the next locator. `JobService.results` with the job and set bound.
  typealias Reader =
    @Sendable (
      _ locator: String,
      _ maxRecords: Int64,
      _ emit: @Sendable (ResultPiece) async throws -> Void
    ) async throws -> String

  static func read(
    from locator: String,
    maxRecords: Int64,
    byteBound: Int,
    using read: Reader
  ) async throws -> ResultPage {
    let collector = Collector(byteBound: byteBound)
    do {
      let next = try await read(locator, maxRecords) { piece in try collector.add(piece) }
      return collector.page(locator: next)
    } catch is PageFull {
      let exact = Collector(byteBound: nil)
      let next = try await read(locator, collector.recordCount) { piece in try exact.add(piece) }
      return exact.page(locator: next)
    }
  }
}

/// Gathers pieces, and stops the read once they pass a bound.
private final class Collector: Sendable {
  private let byteBound: Int?
  private let gathered = Mutex<(data: Data, records: Int64)>((Data(), 0))

  init(byteBound: Int?) {
    self.byteBound = byteBound
  }

  var recordCount: Int64 { self.gathered.withLock { $0.records } }

  func add(_ piece: ResultPiece) throws {
    let full = self.gathered.withLock { gathered in
      gathered.data.append(piece.data)
      gathered.records += piece.recordCount
      return self.byteBound.map { gathered.data.count > $0 && gathered.records > 0 } ?? false
    }
    if full { throw PageFull() }
  }

  func page(locator: String) -> ResultPage {
    self.gathered.withLock { ResultPage(data: $0.data, recordCount: $0.records, locator: locator) }
  }
}

/// Thrown from `emit` to stop a read that passed its byte bound.
private struct PageFull: Error {}
