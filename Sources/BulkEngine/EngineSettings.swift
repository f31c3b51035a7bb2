/// How the engine runs jobs.
package struct EngineSettings: Hashable, Sendable {
  /// Chunks applied at once, across all jobs.
  package var workers: Int
  /// Chunks read, parsed and coerced at once across all jobs, however many run (the server's
  /// memory budget for records waiting for the warehouse); `2 × workers` when `nil`.
  package var chunkBudget: Int?
  /// Query jobs run at once across all tenants, apart from the workers; `max(2, workers)` when
  /// `nil`.
  package var maxQueries: Int?
  /// Query jobs of one tenant run at once.
  package var maxTenantQueries: Int = 2
  /// Records per chunk.
  package var chunkRecords: Int = 10_000
  /// Bytes per chunk, at most (a longer record is a chunk of its own).
  package var chunkBytes: Int = 8 << 20
  /// A job not terminal this long after its creation fails.
  package var maxJobAge: Duration = .seconds(24 * 3600)
  /// Terminal jobs are deleted, with their data, this long after their last change.
  package var retention: Duration = .seconds(7 * 24 * 3600)
  /// How often the lifetime limits are enforced.
  package var reapInterval: Duration = .seconds(60)
  /// How long a job's or a chunk's lease lasts unless renewed. The heartbeat renews leases, and
  /// looks for work of other instances to share or take over, every third of it, so an instance
  /// that dies has its work taken over within about this long.
  package var leaseDuration: Duration = .seconds(30)
  /// Attempts at a chunk while the warehouse is unreachable, before the job fails.
  package var warehouseAttempts: Int = 8
  /// The first wait between attempts; it doubles each time, up to 30 s.
  package var retryDelay: Duration = .milliseconds(250)
  /// A query job's statement is cancelled when it runs longer than this (the warehouse's
  /// statement timeout); the engine itself cancels it `queryDeadlineGrace` later if it still runs.
  package var queryTimeout: Duration = .seconds(3600)
  /// How long after `queryTimeout` the engine cancels a statement that the warehouse did not end.
  package var queryDeadlineGrace: Duration = .seconds(5)

  /// How often leases are renewed and shared work is looked for.
  package var heartbeatInterval: Duration { self.leaseDuration / 3 }

  /// The chunk budget in effect.
  package var effectiveChunkBudget: Int { self.chunkBudget ?? 2 * self.workers }

  /// The global query limit in effect.
  package var effectiveMaxQueries: Int { self.maxQueries ?? max(2, self.workers) }

  package init(workers: Int) {
    self.workers = max(1, workers)
  }
}
