package import BulkCore
internal import Synchronization

/// The real warehouse with a gate in front of `apply` for chunks from `gatedFrom` on: a test
/// sees when a chunk reaches the gate and decides when it passes, or makes it fail.
package final class GatedWarehouse: Warehouse {
  private let base: any Warehouse
  private let gatedFrom: Int
  private let arrivals: AsyncStream<Int>.Continuation
  /// Chunk indexes as they reach the gate.
  package let arrived: AsyncStream<Int>
  private let gate = Mutex<(open: Bool, failure: (any Error)?, waiting: [CheckedContinuation<Void, any Error>])>(
    (false, nil, [])
  )

  package init(_ base: any Warehouse, gatedFrom: Int) {
    self.base = base
    self.gatedFrom = gatedFrom
    (self.arrived, self.arrivals) = AsyncStream.makeStream(of: Int.self)
  }

  /// Lets every waiting and later chunk through.
  package func open() {
    let waiting = self.gate.withLock { state in
      state.open = true
      defer { state.waiting = [] }
      return state.waiting
    }
    for continuation in waiting { continuation.resume() }
  }

  /// Fails every waiting and later chunk with `error`.
  package func fail(with error: any Error) {
    let waiting = self.gate.withLock { state in
      state.failure = error
      defer { state.waiting = [] }
      return state.waiting
    }
    for continuation in waiting { continuation.resume(throwing: error) }
  }

  package var loadsCSVAsUploaded: Bool { self.base.loadsCSVAsUploaded }

  package func describe(table: String, tenant: Tenant) async throws -> TableDescription? {
    try await self.base.describe(table: table, tenant: tenant)
  }

  package func apply(_ work: ChunkWork, tenant: Tenant) async throws -> [RecordOutcome] {
    if work.chunk >= self.gatedFrom {
      self.arrivals.yield(work.chunk)
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let decision = self.gate.withLock { state -> Result<Void, any Error>? in
          if let failure = state.failure { return .failure(failure) }
          if state.open { return .success(()) }
          state.waiting.append(continuation)
          return nil
        }
        if let decision { continuation.resume(with: decision) }
      }
    }
    return try await self.base.apply(work, tenant: tenant)
  }

  package func ledger(jobID: String, tenant: Tenant) async throws -> [Int: [RecordOutcome]] {
    try await self.base.ledger(jobID: jobID, tenant: tenant)
  }

  package func removeLedger(jobID: String, tenant: Tenant) async throws {
    try await self.base.removeLedger(jobID: jobID, tenant: tenant)
  }

  package func export(_ request: QueryRequest, tenant: Tenant, into sink: any QueryRowSink) async throws -> Int64 {
    try await self.base.export(request, tenant: tenant, into: sink)
  }
}

/// A failure of the gated warehouse that the engine retries.
package struct WarehouseDown: RetryableWarehouseError {
  package var isRetryable: Bool { true }

  package init() {}
}

/// A failure that ends a job.
package struct WarehouseBroken: Error {
  package init() {}
}
