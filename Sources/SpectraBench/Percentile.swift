extension Array where Element == Double {
  /// The value below which `fraction` of the values lie (the nearest rank, no interpolation);
  /// 0 when there are none.
  func percentile(_ fraction: Double) -> Double {
    guard !self.isEmpty else { return 0 }
    let sorted = self.sorted()
    return sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
  }

  /// The middle value, or the mean of the two middle ones when there is an even number; `nil`
  /// when there are none.
  var median: Double? {
    guard !self.isEmpty else { return nil }
    let sorted = self.sorted()
    let middle = sorted.count / 2
    return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
  }
}
