extension Array where Element == Double {
  /// The value below which `fraction` of the values lie (the nearest rank, no interpolation);
  /// 0 when there are none.
  func percentile(_ fraction: Double) -> Double {
    guard !self.isEmpty else { return 0 }
    let sorted = self.sorted()
    return sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
  }
}
