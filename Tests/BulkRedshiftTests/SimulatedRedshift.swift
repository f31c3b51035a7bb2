import BulkPostgres
import BulkRedshift
import BulkS3
import Dispatch
import Synchronization

/// A test double of the two statements only Redshift runs, `COPY … FROM 's3://…'` and
/// `UNLOAD … TO 's3://…'`: it does what they do, from and to the same S3 objects (moto), on the
/// test PostgreSQL, so that everything around them runs for real. It lives here, never in
/// `Sources/`: a server runs `RedshiftSQLStatements` on a cluster.
struct SimulatedRedshift: RedshiftS3Statements {
  let s3: S3Client

  func copy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
    try self.simulateCopy(copy, on: connection)
  }

  func unload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
    try self.simulateUnload(unload, on: connection)
  }

  /// Runs S3 calls from the connection's thread, which is the pool's own (a dispatch queue),
  /// never one of the concurrency pool's, so waiting here starves nothing.
  func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
      let outcome: Result<T, any Error>
      do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
      result.withLock { $0 = outcome }
      done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
  }
}
