import BulkCore
import BulkPostgres
import BulkTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// `PostgresJobEvents` between two "instances" (two of them, each with its own connections) on
/// the test PostgreSQL, reading jobs from a catalog stand-in both share.
@Suite("PostgresJobEvents")
struct PostgresJobEventsTests {
  /// What the shared catalog holds: the stored jobs.
  final class Store: Sendable {
    let jobs = Mutex<[String: Job]>([:])

    func put(_ job: Job) { self.jobs.withLock { $0[job.id] = job } }
    func job(_ id: String) -> Job? { self.jobs.withLock { $0[id] } }
  }

  static func events(
    _ cluster: PostgresCluster,
    _ instance: String,
    channel: String,
    store: Store,
    pollInterval: Duration = .seconds(60)
  ) -> PostgresJobEvents {
    let events = PostgresJobEvents(
      url: cluster.url(),
      instanceID: instance,
      channel: channel,
      pollInterval: pollInterval,
      logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    ) { id, _ in store.job(id) }
    events.start()
    return events
  }

  static func job(_ id: String, processed: Int64, at seconds: Double) -> Job {
    var job = Job(id: id, tenantID: "acme", operation: .insert, object: "o", createdAt: Date(timeIntervalSince1970: 0))
    job.state = .inProgress
    job.numberRecordsProcessed = processed
    job.updatedAt = Date(timeIntervalSince1970: seconds)
    return job
  }

  /// Two instances on one channel of the shared cluster, sharing a store; `b` listens.
  static func pair() async throws -> (PostgresCluster, Store, String, PostgresJobEvents, PostgresJobEvents) {
    let cluster = try await PostgresCluster.shared()
    let (store, channel) = (Store(), Self.channel())
    let a = Self.events(cluster, "a", channel: channel, store: store)
    let b = Self.events(cluster, "b", channel: channel, store: store)
    await Self.listening(b)
    return (cluster, store, channel, a, b)
  }

  /// Waits until `events` listens (its connection is made on its own thread).
  static func listening(_ events: PostgresJobEvents) async {
    while !events.isListening { await Task.yield() }
  }

  static func channel() -> String { "events_" + UUID().uuidString.prefix(8).lowercased() }

  @Test("a change published on one instance reaches a watcher on the other, read from the catalog")
  func acrossInstances() async throws {
    let (_, store, _, a, b) = try await Self.pair()
    defer { a.stop(); b.stop() }
    var changes = b.subscribe(jobID: "job-1", tenantID: "acme").makeAsyncIterator()
    for processed in [10, 20] as [Int64] {
      let job = Self.job("job-1", processed: processed, at: Double(processed))
      store.put(job)
      a.publish(job)
      #expect(await changes.next()?.numberRecordsProcessed == processed)
    }
  }

  @Test("without a notification, the poll still delivers the change; an older job is never delivered after a newer")
  func pollFallback() async throws {
    let cluster = try await PostgresCluster.shared()
    let (store, channel) = (Store(), Self.channel())
    let b = Self.events(cluster, "b", channel: channel, store: store, pollInterval: .milliseconds(50))
    defer { b.stop() }
    var changes = b.subscribe(jobID: "job-2", tenantID: "acme").makeAsyncIterator()
    store.put(Self.job("job-2", processed: 5, at: 5))
    #expect(await changes.next()?.numberRecordsProcessed == 5)
    b.publish(Self.job("job-2", processed: 9, at: 9))
    #expect(await changes.next()?.numberRecordsProcessed == 9)
    // The catalog stand-in still holds the job of 5 records, older than the one published: the
    // polls read it and must not go back, so the next change is the newer one.
    try await Task.sleep(for: .milliseconds(200))
    store.put(Self.job("job-2", processed: 12, at: 12))
    #expect(await changes.next()?.numberRecordsProcessed == 12)
  }

  @Test("when the listening connection is killed, it comes back and catches up on what it missed")
  func reconnects() async throws {
    let (cluster, store, channel, a, b) = try await Self.pair()
    defer { a.stop(); b.stop() }
    var changes = b.subscribe(jobID: "job-3", tenantID: "acme").makeAsyncIterator()
    _ = try cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN \"\(channel)\"'")
    let job = Self.job("job-3", processed: 3, at: 3)
    store.put(job)
    a.publish(job)
    #expect(await changes.next()?.numberRecordsProcessed == 3)
  }

  @Test("stop ends every watch, and later subscriptions are empty")
  func stop() async throws {
    let cluster = try await PostgresCluster.shared()
    let events = Self.events(cluster, "a", channel: Self.channel(), store: Store())
    var changes = events.subscribe(jobID: "job-4", tenantID: "acme").makeAsyncIterator()
    events.stop()
    #expect(events.isStopped)
    #expect(await changes.next() == nil)
    var later = events.subscribe(jobID: "job-4", tenantID: "acme").makeAsyncIterator()
    #expect(await later.next() == nil)
  }
}
