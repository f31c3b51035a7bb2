package import Foundation
internal import Synchronization

/// The one owner of changes to stored jobs: it applies an event to the stored job through
/// `Job.StateMachine`, persists the result in one catalog transaction, and publishes the stored
/// job to its watchers. `JobService` and the engine change jobs only through it.
package struct JobTransitions: Sendable {
  /// Edits the job inside the transaction, after the state machine took the event: the job
  /// already has its new state when the action is a transition (`job.state` is the stored one
  /// otherwise). Throwing stores nothing.
  package typealias Change = @Sendable (inout Job, Job.StateMachine.Action) throws(BulkError) -> Void

  package let catalog: any JobCatalog
  package let events: any JobEvents

  package init(catalog: any JobCatalog, events: any JobEvents) {
    self.catalog = catalog
    self.events = events
  }

  /// Feeds `event` to the stored job's state machine, in one catalog transaction: a transition
  /// sets the new state and `updatedAt = now`, then `change` runs with the action (a refusal
  /// throws only when `change` throws). The job is published when the transaction changed it.
  ///
  /// - Throws: `NOT_FOUND` when the tenant has no such job, what `change` throws, or the
  ///   catalog's error.
  @discardableResult
  package func apply(
    _ event: Job.Event,
    jobID: String,
    tenantID: String,
    at now: Date,
    _ change: @escaping Change = { _, _ throws(BulkError) in }
  ) async throws -> Job {
    try await self.store(jobID: jobID, tenantID: tenantID) { (job: inout Job) throws(BulkError) in
      var machine = Job.StateMachine(state: job.state)
      let action = machine.handle(event)
      if case .transition(_, let next) = action {
        job.state = next
        job.updatedAt = now
      }
      try change(&job, action)
    }
  }

  /// Changes what is not the job's state (its counters), in one catalog transaction, and
  /// publishes the job when the transaction changed it.
  @discardableResult
  package func update(
    jobID: String,
    tenantID: String,
    _ change: @escaping @Sendable (inout Job) throws(BulkError) -> Void
  ) async throws -> Job {
    try await self.store(jobID: jobID, tenantID: tenantID) { (job: inout Job) throws(BulkError) in
      let state = job.state
      try change(&job)
      precondition(job.state == state, "job states change only through JobTransitions.apply")
    }
  }

  private func store(
    jobID: String,
    tenantID: String,
    _ change: @escaping @Sendable (inout Job) throws(BulkError) -> Void
  ) async throws -> Job {
    let changed = ChangeFlag()
    let stored = try await self.catalog.update(id: jobID, tenantID: tenantID) { (job: inout Job) throws(BulkError) in
      let before = job
      try change(&job)
      changed.value.store(job != before, ordering: .relaxed)
    }
    if changed.value.load(ordering: .relaxed) {
      self.events.publish(stored)
    }
    return stored
  }
}

/// Whether a catalog transaction changed the job, set inside it and read after it.
private final class ChangeFlag: Sendable {
  let value = Atomic(false)
}
