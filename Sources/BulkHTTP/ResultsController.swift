internal import BulkCore
internal import Foundation
internal import Hummingbird
internal import Logging

/// `GET …/jobs/{id}/results`: one result set as a CSV or JSON document, with the headers
/// `Bulk-Locator` (the next locator, `null` at the end) and `Bulk-Record-Count`.
///
/// The locator is known only once the read ends, but headers go first. So:
/// - with `max_records`, the response is a page, capped at `maxPageRecords` records and about
///   `bufferSize` bytes (8 MiB by default; fewer records when the bytes bound comes first, so
///   follow `Bulk-Locator`). The page is read whole, then sent with both headers.
/// - without it, the response is all the rest, so `Bulk-Locator` is `null` by definition. Up to
///   `bufferSize` bytes are read before answering: a result that ends by then is sent with
///   both headers; a larger one streams, and its `Bulk-Record-Count` comes as an HTTP trailer
///   (announced by `Trailer: Bulk-Record-Count`).
///
/// Either way an error before the first byte (job not terminal, bad locator) is a proper
/// status, and memory stays bounded. `Accept-Encoding: gzip` compresses the body as it streams.
struct ResultsController: Sendable {
  /// Records a page holds at most, whatever `max_records` asks.
  static let maxPageRecords: Int64 = 100_000

  static let locatorHeader = HTTPFields.Element.Name("Bulk-Locator")!
  static let recordCountHeader = HTTPFields.Element.Name("Bulk-Record-Count")!
  private static let trailerHeader = HTTPFields.Element.Name("Trailer")!

  let jobs: JobService
  /// Bytes read before the response head is chosen.
  let bufferSize: Int
  let logger: Logger

  /// Registers the route on a group that authenticates (`…/jobs`).
  func addRoutes(to group: RouterGroup<BulkRequestContext>) {
    group.get("{id}/results", use: self.results)
  }

  @Sendable func results(_ request: Request, context: BulkRequestContext) async throws -> Response {
    let tenant = try context.authenticatedTenant()
    let id = try context.jobID()
    let query = try QueryParameters(request, accepted: ["result_set", "locator", "max_records"])
    let set = try Self.resultSet(query.string("result_set"))
    let locator = query.string("locator") ?? ""
    let maxRecords = try query.integer("max_records") ?? 0
    let job = try await self.jobs.job(id: id, tenant: tenant)
    let gzip = AcceptEncoding.allowsGzip(request.headers[.acceptEncoding])
    var headers: HTTPFields = [
      .contentType: job.contentType == .json ? "application/json" : "text/csv; charset=utf-8",
      .vary: "Accept-Encoding",
    ]
    if gzip {
      headers[.contentEncoding] = "gzip"
    }
    let jobs = self.jobs
    let read: ResultPage.Reader = { locator, maxRecords, emit in
      try await jobs.results(id: id, tenant: tenant, set: set, locator: locator, maxRecords: maxRecords, emit: emit)
    }

    if maxRecords > 0 {
      let page = try await ResultPage.read(
        from: locator,
        maxRecords: min(maxRecords, Self.maxPageRecords),
        byteBound: self.bufferSize,
        using: read
      )
      return try Self.complete(page, headers: headers, gzip: gzip)
    }
    let stream = ResultStream { emit in try await read(locator, maxRecords, emit) }
    var head = Data()
    var records: Int64 = 0
    while true {
      switch try await stream.next() {
      case .piece(let piece):
        head.append(piece.data)
        records += piece.recordCount
        if head.count > self.bufferSize {
          return self.streaming(stream, head: head, records: records, headers: headers, gzip: gzip, jobID: id)
        }
      case .end(let next):
        return try Self.complete(
          ResultPage(data: head, recordCount: records, locator: next),
          headers: headers,
          gzip: gzip
        )
      }
    }
  }

  /// A response whose whole body is in hand.
  private static func complete(_ page: ResultPage, headers: HTTPFields, gzip: Bool) throws -> Response {
    var headers = headers
    headers[Self.locatorHeader] = page.locator.isEmpty ? "null" : page.locator
    headers[Self.recordCountHeader] = String(page.recordCount)
    var body = ByteBuffer()
    if gzip {
      let encoder = try GzipEncoder()
      body.writeBytes(try encoder.compress(page.data))
      body.writeBytes(try encoder.finish())
    } else {
      body.writeBytes(page.data)
    }
    return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
  }

  /// A response that writes `head`, then the rest of `stream` as it is read.
  private func streaming(
    _ stream: ResultStream,
    head: Data,
    records: Int64,
    headers: HTTPFields,
    gzip: Bool,
    jobID: String
  ) -> Response {
    var headers = headers
    headers[Self.locatorHeader] = "null"
    headers[Self.trailerHeader] = Self.recordCountHeader.rawName
    let logger = self.logger
    let body = ResponseBody { writer in
      let encoder = gzip ? try GzipEncoder() : nil
      var records = records
      do {
        try await writer.write(Self.encoded(head, with: encoder))
        while case .piece(let piece) = try await stream.next() {
          records += piece.recordCount
          try await writer.write(Self.encoded(piece.data, with: encoder))
        }
        if let trailer = try encoder?.finish() {
          try await writer.write(ByteBuffer(bytes: trailer))
        }
      } catch {
        // The head is sent: all that is left is to cut the response short, which the client
        // sees as an incomplete chunked body rather than a complete-looking document.
        logger.error("results download failed", metadata: ["job_id": "\(jobID)", "error": "\(error)"])
        throw error
      }
      try await writer.finish([Self.recordCountHeader: String(records)])
    }
    return Response(status: .ok, headers: headers, body: body)
  }

  private static func encoded(_ data: Data, with encoder: GzipEncoder?) throws -> ByteBuffer {
    if let compressed = try encoder?.compress(data) {
      return ByteBuffer(bytes: compressed)
    }
    return ByteBuffer(bytes: data)
  }

  /// `successful`, `failed`, `unprocessed` or `query`; absent means the job's default.
  private static func resultSet(_ value: String?) throws(BulkError) -> ResultSet? {
    guard let value, !value.isEmpty else { return nil }
    guard let set = ResultSet(rawValue: value.lowercased()) else {
      let names = ResultSet.allCases.map(\.rawValue).joined(separator: ", ")
      throw .invalidArgument("result_set '\(value.prefix(40))' is not one of \(names)")
    }
    return set
  }
}
