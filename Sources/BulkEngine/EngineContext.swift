internal import BulkCore
internal import Foundation
internal import Logging

/// What the engine's parts share.
struct EngineContext: Sendable {
  let catalog: any JobCatalog
  let warehouse: any Warehouse
  let staging: FileStagingStore
  let results: ResultStore
  let scheduler: ChunkScheduler
  let events: JobEvents
  let limits: Limits
  let settings: EngineSettings
  let logger: Logger
  /// Decodes one serialised record-batch row into values (the transport's encoding).
  let decodeRow: @Sendable (Data) throws -> [FieldValue]
  /// The tenant of an id, for its warehouse schema.
  let tenant: @Sendable (String) -> Tenant

  /// Stores a change to a job and tells its watchers.
  @discardableResult
  func update(
    jobID: String,
    tenantID: String,
    _ change: @escaping @Sendable (inout Job) throws(BulkError) -> Void
  ) async throws -> Job {
    let stored = try await self.catalog.update(id: jobID, tenantID: tenantID, change)
    self.events.publish(stored)
    return stored
  }
}
