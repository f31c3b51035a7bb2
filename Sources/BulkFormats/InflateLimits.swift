/// How far a gzip upload may inflate before it is refused.
///
/// `maxRatio` stops a gzip bomb early: the inflated size may not pass `maxRatio` times the
/// compressed bytes consumed so far, plus 1 MiB of slack for small inputs.
package struct InflateLimits: Hashable, Sendable {
  /// The most bytes a stream may inflate to in total.
  package var maxInflatedBytes: Int64
  /// The largest ratio of inflated to compressed bytes.
  package var maxRatio: Int64

  /// Limits of `maxInflatedBytes` (16 GiB by default) and `maxRatio` (100 by default).
  package init(maxInflatedBytes: Int64 = 16 << 30, maxRatio: Int64 = 100) {
    self.maxInflatedBytes = maxInflatedBytes
    self.maxRatio = maxRatio
  }

  /// The slack the ratio cap allows on top of `maxRatio` times the compressed bytes.
  package static let ratioSlack: Int64 = 1 << 20

  /// The most bytes that `consumed` compressed bytes may inflate to under the ratio cap.
  func ratioAllowance(consumed: Int64) -> Int64 {
    let (product, overflow) = self.maxRatio.multipliedReportingOverflow(by: consumed)
    guard !overflow else { return .max }
    let (allowance, overflowSum) = product.addingReportingOverflow(Self.ratioSlack)
    return overflowSum ? .max : allowance
  }
}
