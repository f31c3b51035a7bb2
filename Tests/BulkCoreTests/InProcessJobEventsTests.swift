import BulkCore
import Foundation
import Testing

@Suite("InProcessJobEvents")
struct InProcessJobEventsTests {
  static func job(_ id: String, _ state: JobState) -> Job {
    var job = Job(id: id, tenantID: "t", operation: .insert, object: "o", createdAt: Date(timeIntervalSince1970: 0))
    job.state = state
    return job
  }

  @Test("a watcher gets its job's changes, not another job's, and the stream ends at stop")
  func publishAndStop() async {
    let events: any JobEvents = InProcessJobEvents()
    let changes = events.subscribe(jobID: "a", tenantID: "t")
    events.publish(Self.job("b", .uploadComplete))
    events.publish(Self.job("a", .uploadComplete))
    var iterator = changes.makeAsyncIterator()
    #expect(await iterator.next()?.state == .uploadComplete)
    #expect(!events.isStopped)
    events.stop()
    #expect(events.isStopped)
    #expect(await iterator.next() == nil)
  }

  @Test("a subscription made after stop is empty")
  func subscribeAfterStop() async {
    let events = InProcessJobEvents()
    events.stop()
    var iterator = events.subscribe(jobID: "a", tenantID: "t").makeAsyncIterator()
    #expect(await iterator.next() == nil)
    #expect(events.watchedJobs == 0)
  }
}
