extension Duration {
  /// The duration in seconds, with its fraction.
  package var inSeconds: Double {
    Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
  }

  /// The duration in whole milliseconds, rounded down.
  package var inMilliseconds: Int64 {
    self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000
  }
}
