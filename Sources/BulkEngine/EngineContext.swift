internal import BulkCore
internal import Foundation
internal import Logging

/// What the engine's parts share.
struct EngineContext: Sendable {
  let catalog: any JobCatalog
  let warehouse: any Warehouse
  let staging: SpooledStagingStore
  /// Where uploads and results are kept; the engine reads and writes them only through it.
  let storage: any JobStorage
  let results: ResultStore
  let scheduler: ChunkScheduler
  /// Every change to a job goes through it: it persists the change and tells the watchers.
  let transitions: JobTransitions
  let limits: Limits
  let settings: EngineSettings
  let logger: Logger
  /// The tenant of an id, for its warehouse schema.
  let tenant: @Sendable (String) -> Tenant
  /// This instance, as the holder of the leases it takes.
  let instanceID: String
  /// The chunk leases this instance holds, which the heartbeat renews.
  let chunkLeases = ChunkLeaseBook()
  /// Closed at shutdown: no warehouse call starts after it (see `JobEngine.run()`).
  let gate = ShutdownGate()

  /// Runs a warehouse call, retrying with backoff (doubling from `retryDelay`, at most 30 s)
  /// while it fails with a retryable error, up to `warehouseAttempts` times; then the job fails.
  func retryingWarehouse<T>(_ what: String, jobID: String, _ call: () async throws -> T) async throws -> T {
    var delay = self.settings.retryDelay
    var attempt = 1
    while true {
      do {
        return try await self.gate.pass(call)
      } catch let error as any RetryableWarehouseError where error.isRetryable {
        guard attempt < self.settings.warehouseAttempts else {
          throw JobFailure("the warehouse is unreachable after \(attempt) attempts: \(error)")
        }
        self.logger.warning(
          "warehouse unreachable, retrying",
          metadata: ["job_id": "\(jobID)", "call": "\(what)", "attempt": "\(attempt)", "error": "\(error)"]
        )
        try await Task.sleep(for: delay)
        delay = min(delay * 2, .seconds(30))
        attempt += 1
      }
    }
  }
}
