/// SplitMix64 (Steele, Lea & Flood 2014; the variant in Vigna's `splitmix64.c`): a tiny, fast generator whose
/// output is fixed by its definition, so sampled training data is the same on every platform and Swift version.
///
/// All shuffling and sampling in the data pipeline goes through the helpers below (Fisher–Yates, Lemire's bounded
/// integers), never through the standard library's `shuffled(using:)` / `Int.random(in:using:)`, whose algorithms
/// are not promised to stay the same.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The plain SplitMix64 stream: the state starts at `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// A stream identified by several keys, e.g. `(seed, purpose, epoch, index)`. The keys are hashed in order
    /// (their count included) into the starting state, so `(1, 2)`, `(2, 1)` and `(1, 2, 0)` give unrelated streams;
    /// it lets any step be generated on its own, without running the steps before it.
    public init(keys: UInt64...) {
        self.init(keys: keys)
    }

    public init(keys: [UInt64]) {
        var h: UInt64 = 0x6A09_E667_F3BC_C909  // fractional bits of sqrt(2): any fixed odd-looking constant
        for key in keys {
            h = SplitMix64.mix(h ^ key) &+ SplitMix64.golden
        }
        state = SplitMix64.mix(h ^ UInt64(truncatingIfNeeded: keys.count))
    }

    /// The SplitMix64 output function (a variant of MurmurHash3's 64-bit finalizer).
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= SplitMix64.golden
        return SplitMix64.mix(state)
    }

    /// Uniform in [0, 1) with 24 random bits (every value is a multiple of 2⁻²⁴).
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in `0 ..< bound` without modulo bias (Lemire 2019, "Fast random integer generation in an interval").
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// Fisher–Yates (Durstenfeld): for i from the last index down to 1, swap element i with a uniform j in 0...i.
    public mutating func shuffle<Element>(_ elements: inout [Element]) {
        guard elements.count > 1 else { return }
        for i in stride(from: elements.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { elements.swapAt(i, j) }
        }
    }

    public mutating func shuffled<Element>(_ elements: [Element]) -> [Element] {
        var copy = elements
        shuffle(&copy)
        return copy
    }

    /// A uniformly random permutation of `0 ..< count`.
    public mutating func permutation(_ count: Int) -> [Int] {
        shuffled(Array(0 ..< count))
    }

    /// `count` distinct positions of `elements` chosen uniformly without replacement (a partial Fisher–Yates:
    /// for i in 0..<count, swap element i with a uniform j in i..<n), in the order drawn. Asking for more than
    /// there are returns all of them, shuffled.
    public mutating func sample<Element>(_ elements: [Element], count: Int) -> [Element] {
        precondition(count >= 0, "sample count must not be negative")
        var pool = elements
        let take = min(count, pool.count)
        for i in 0 ..< take {
            let j = i + nextInt(below: pool.count - i)
            if i != j { pool.swapAt(i, j) }
        }
        return Array(pool.prefix(take))
    }
}
