internal import BulkCore
internal import BulkFormats
internal import BulkPostgres
internal import BulkS3
internal import Dispatch
internal import Foundation
internal import NIOCore

/// A query job on Redshift: the tenant's statement inside `UNLOAD`, on the tenant's own login,
/// and the unloaded parts streamed from S3 to the job's results.
///
/// The statement is checked by `QueryText` first; then `RedshiftUnloadSession` runs it on the
/// cluster, which writes gzip CSV parts and a manifest under the job's folder
/// (`<job folder>unload/part_…`, deleted with the job by `removeLedger`). The parts are then
/// read in the manifest's order, each in ranges of `rangeBytes`, inflated and cut into rows as
/// they come (`RedshiftUnloadRows`), on a dispatch queue of the export's own, since the sink
/// writes files.
struct RedshiftExport: Sendable {
  let staging: RedshiftStaging
  let s3: S3Client
  let statements: any RedshiftS3Statements
  let base: PostgresWarehouse

  /// The most bytes a manifest may have: thousands of parts fit in far less.
  static let maxManifestBytes = 16 << 20
  /// The gzip bytes of a part read at once: one ranged GET, retried on its own by the S3
  /// client, so a part of any size is read in flat memory.
  static let rangeBytes = 4 << 20

  /// Runs the query job and hands its rows to `sink`.
  ///
  /// - Returns: the rows handed over.
  /// - Throws: `BulkError.queryRefused` for a statement the checks or the cluster refused,
  ///   `BulkError.queryCancelled` when the job was aborted or ran past its timeout, a
  ///   `BulkError` naming the object for a manifest or part that cannot be read, a
  ///   `PostgresError` when the cluster could not be reached (retried by the engine).
  func run(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
    let text = try QueryText(request.sql, dialect: .postgres, forbiddenFunctions: QueryText.postgresForbiddenFunctions)
    let delimiter: UInt8 = if case .csv(let delimiter) = request.output { delimiter } else { UInt8(ascii: ",") }
    let session = RedshiftUnloadSession(
      unload: RedshiftUnloadSession.unload(
        statement: text.statement,
        staging: self.staging,
        destination: self.staging.jobFolder(tenant: tenant, jobID: request.jobID) + "unload/part_",
        delimiter: delimiter
      ),
      schema: tenant.schema,
      request: request,
      statements: self.statements
    )
    let columns = try await self.base.withQueryConnection(tenant: tenant) { try session.run(on: $0, sink: sink) }
    let parts = try await self.parts(of: session.unload)

    let queue = DispatchQueue(label: "spectra.bulk.redshift-unload")
    let pump = RedshiftUnloadPump(
      RedshiftUnloadRows(columns: columns, delimiter: delimiter, request: request, sink: sink)
    )
    for (index, part) in parts.enumerated() {
      let place = "part \(index + 1) of \(parts.count) of the UNLOAD (\(self.staging.url(part.key)))"
      let size: Int
      do {
        size = try await self.s3.headObject(bucket: self.staging.bucket, key: part.key).contentLength
      } catch let error as S3Error where error.status == 404 {
        throw BulkError(
          code: .unavailable,
          message: "\(place) is listed in its manifest but missing from S3",
          cause: error
        )
      }
      if let expected = part.meta?.contentLength, expected != size {
        throw BulkError(code: .unavailable, message: "\(place) holds \(size) bytes, its manifest says \(expected)")
      }
      let records: Int64
      do {
        try await queue.run { try pump { try $0.beginPart() } }
        for start in stride(from: 0, to: size, by: Self.rangeBytes) {
          let range = start ... min(size, start + Self.rangeBytes) - 1
          let piece = try await self.s3.getObject(
            bucket: self.staging.bucket,
            key: part.key,
            range: range,
            limit: Self.rangeBytes
          )
          try await queue.run { try pump { try $0.feed(piece.body) } }
        }
        records = try await queue.run { try pump { try $0.endPart() } }
      } catch let error as FormatError {
        throw BulkError(code: .internal, message: "\(place) cannot be read: \(error.message)", cause: error)
      }
      if let expected = part.meta?.recordCount, expected != records {
        throw BulkError(code: .internal, message: "\(place) holds \(records) rows, its manifest says \(expected)")
      }
    }
    return try await queue.run { try pump { try $0.finish() } }
  }

  /// The parts the manifest of `unload` lists, in its order.
  private func parts(of unload: RedshiftUnload) async throws -> [(key: String, meta: RedshiftUnloadManifest.Meta?)] {
    let manifest: S3Object
    do {
      manifest = try await self.s3.getObject(
        bucket: unload.bucket,
        key: unload.manifestKey,
        limit: Self.maxManifestBytes
      )
    } catch let error as S3Error where error.code == "NoSuchKey" {
      throw BulkError(
        code: .unavailable,
        message:
          "the UNLOAD ran, but its manifest s3://\(unload.bucket)/\(unload.manifestKey) is missing, so its parts are unknown",
        cause: error
      )
    }
    return try RedshiftUnloadManifest.parts(of: unload, from: Data(manifest.body.readableBytesView))
  }
}
