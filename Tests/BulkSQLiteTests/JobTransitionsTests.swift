import BulkCore
import BulkSQLite
import BulkTestSupport
import Foundation
import Synchronization
import Testing

@Suite("JobTransitions")
struct JobTransitionsTests {
  /// Collects what the watchers of a job are told.
  final class Recorder: JobEvents {
    private let events = InProcessJobEvents()
    let published = PublishedJobs()

    func subscribe(jobID: String, tenantID: String) -> AsyncStream<Job> { self.events.subscribe(jobID: jobID, tenantID: tenantID) }
    func publish(_ job: Job) {
      self.published.append(job)
      self.events.publish(job)
    }
    func stop() { self.events.stop() }
    var isStopped: Bool { self.events.isStopped }
  }

  final class PublishedJobs: Sendable {
    private let jobs = Mutex<[Job]>([])
    func append(_ job: Job) { self.jobs.withLock { $0.append(job) } }
    var all: [Job] { self.jobs.withLock { $0 } }
  }

  @Test("an event moves the stored job, stores it and publishes it; a repeat publishes nothing")
  func applyEvent() async throws {
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
      _ = try await catalog.insert(SQLiteJobCatalogTests.job("a"), idempotencyKey: nil, activeJobLimit: 10)
      let events = Recorder()
      let transitions = JobTransitions(catalog: catalog, events: events)
      let now = Date(timeIntervalSince1970: 1_800_000_000)

      let closed = try await transitions.apply(.close, jobID: "a", tenantID: "t", at: now) { job, action in
        #expect(action == .transition(from: .open, to: .uploadComplete))
        job.bytesUploaded = 42
      }
      #expect(closed.state == .uploadComplete && closed.updatedAt == now && closed.bytesUploaded == 42)
      #expect(try await catalog.job(id: "a", tenantID: "t") == closed)
      #expect(events.published.all == [closed])

      let again = try await transitions.apply(.close, jobID: "a", tenantID: "t", at: now.addingTimeInterval(1))
      #expect(again == closed)
      #expect(events.published.all == [closed])
    }
  }

  @Test("a refusal thrown by the change stores nothing and publishes nothing")
  func refusal() async throws {
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
      _ = try await catalog.insert(SQLiteJobCatalogTests.job("a"), idempotencyKey: nil, activeJobLimit: 10)
      let events = Recorder()
      let transitions = JobTransitions(catalog: catalog, events: events)
      await #expect(throws: BulkError.self) {
        try await transitions.apply(.complete, jobID: "a", tenantID: "t", at: Date()) {
          (_: inout Job, action: Job.StateMachine.Action) throws(BulkError) in
          if case .refuse(let reason) = action { throw .failedPrecondition(reason) }
        }
      }
      #expect(try await catalog.job(id: "a", tenantID: "t")?.state == .open)
      #expect(events.published.all.isEmpty)
    }
  }

  @Test("a counter update publishes the stored job")
  func counters() async throws {
    try await withTemporaryDirectory { directory in
      let catalog = try SQLiteJobCatalog(path: "\(directory)/catalog.sqlite")
      _ = try await catalog.insert(SQLiteJobCatalogTests.job("a"), idempotencyKey: nil, activeJobLimit: 10)
      let events = Recorder()
      let transitions = JobTransitions(catalog: catalog, events: events)
      let stored = try await transitions.update(jobID: "a", tenantID: "t") { $0.numberRecordsProcessed = 5 }
      #expect(stored.numberRecordsProcessed == 5)
      #expect(events.published.all == [stored])
    }
  }
}
