internal import BulkGRPCClient
internal import Testing

@Suite("RetryPolicy")
struct RetryPolicyTests {
  @Test("backoff doubles from its start up to its cap")
  func backoff() {
    let policy = RetryPolicy()
    let pauses = (1 ... 7).map(policy.backoff(attempt:))
    #expect(pauses == [200, 400, 800, 1600, 3200, 5000, 5000].map { Duration.milliseconds($0) })
  }
}
