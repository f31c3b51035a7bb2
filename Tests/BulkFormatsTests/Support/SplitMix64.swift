/// A seeded, deterministic random number generator (SplitMix64), so that a failing property test
/// can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) {
    self.state = seed
  }

  mutating func next() -> UInt64 {
    self.state &+= 0x9E37_79B9_7F4A_7C15
    var z = self.state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// True with probability `1 / n`.
  mutating func oneIn(_ n: Int) -> Bool {
    Int.random(in: 0 ..< n, using: &self) == 0
  }
}
