/// Dropout masks from a counter-based generator: element `i` of a mask is a pure function of
/// `(seed, step, example, site, i)`, so a mask does not depend on how a batch is split over threads or
/// workers, nor on what was drawn before.
public enum Dropout {
    /// Identifies one mask: a training step, one example (sequence) of it, and a site in the network.
    public struct Key: Sendable, Equatable {
        public var seed: UInt64
        public var step: UInt64
        public var example: UInt64
        public var site: UInt64

        public init(seed: UInt64, step: UInt64, example: UInt64, site: UInt64) {
            self.seed = seed
            self.step = step
            self.example = example
            self.site = site
        }

        var stream: UInt64 {
            var h = Dropout.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
            h = Dropout.mix(h ^ step)
            h = Dropout.mix(h ^ example)
            return Dropout.mix(h ^ site)
        }
    }

    /// Sites: 0 the embeddings, then four per layer (attention probabilities, attention output,
    /// feed-forward output, and one spare).
    public static func site(layer: Int, _ which: LayerSite) -> UInt64 { UInt64(1 + layer * 4 + which.rawValue) }

    public enum LayerSite: Int { case attentionProbabilities = 0, attentionOutput = 1, feedForwardOutput = 2 }

    /// One SplitMix64 step from state `x`: a bijective 64-bit mix.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 { SplitMix64.mix(x &+ SplitMix64.golden) }

    /// Fills `mask[0..<count]` with 0 (dropped, probability `p`) or `1/(1-p)` (kept).
    public static func fill(_ mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float, key: Key) {
        let keep = 1 / (1 - p)
        let stream = key.stream
        let threshold = UInt64(Double(p) * 16_777_216)   // compare 24-bit uniforms
        for i in 0 ..< count {
            let u = mix(stream ^ UInt64(i)) >> 40
            mask[i] = u < threshold ? 0 : keep
        }
    }

    /// `x ⊙= mask`
    public static func apply(_ x: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        for i in 0 ..< count { x[i] *= mask[i] }
    }
}
