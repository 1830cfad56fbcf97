import Foundation

/// The optional classification loss of the RelBERT recipe: a linear layer over the features
/// `[u; v; |u - v|]` of two relation embeddings (`3 * dimension` inputs, one output logit), trained
/// with binary cross-entropy with logits: label 1 when `u` and `v` are embeddings of the same
/// relation, 0 otherwise. The loss is the mean over the pairs (PyTorch's
/// `BCEWithLogitsLoss(reduction="mean")`).
///
/// Per pair, with logit `z` and label `y`: `max(z, 0) - z y + log(1 + exp(-|z|))` (stable for any
/// `z`), and dLoss/dz = `(sigmoid(z) - y) / pairs`. The derivative of `|x|` at `x = 0` is taken as 0,
/// as PyTorch's `sign`.
public struct PairClassifier: Sendable {
    /// The width of one relation embedding.
    public let dimension: Int
    /// The weights of the linear layer, `3 * dimension`: those of `u`, then `v`, then `|u - v|`.
    public var weights: [Float]
    /// The bias of the linear layer.
    public var bias: Float

    /// What `forward` computed and `backward` needs.
    public struct Cache: Sendable {
        public let dimension: Int
        public let firsts: [Int]
        public let seconds: [Int]
        public let labels: [Double]
        /// The logit of each pair.
        public let logits: [Double]
        /// The mean loss, in `Double`.
        public let loss: Double
    }

    /// A layer initialised as `torch.nn.Linear(3 * dimension, 1)` is: weights and bias uniform in
    /// `[-1/sqrt(3 * dimension), 1/sqrt(3 * dimension)]`, drawn from a SplitMix64 stream seeded
    /// with `seed` (so the same seed gives the same layer on every platform).
    public init(dimension: Int, seed: UInt64) {
        precondition(dimension > 0, "PairClassifier: dimension must be positive, got \(dimension)")
        self.dimension = dimension
        var generator = SplitMix64(seed: seed)
        let bound = 1 / Double(3 * dimension).squareRoot()
        var weights = [Float](repeating: 0, count: 3 * dimension)
        for index in weights.indices {
            weights[index] = Float((2 * generator.nextDouble() - 1) * bound)
        }
        self.weights = weights
        self.bias = Float((2 * generator.nextDouble() - 1) * bound)
    }

    /// The logit for the rows `first` (u) and `second` (v) of `embeddings`.
    public func logit(embeddings: UnsafePointer<Float>, first: Int, second: Int) -> Float {
        Float(logitDouble(embeddings: embeddings, first: first, second: second))
    }

    /// The mean loss over `pairs` of rows of `embeddings` (`[rows, dimension]`, row-major). When
    /// given, dLoss/dEmbedding is added into `gradient` (shape of `embeddings`), dLoss/dWeights into
    /// `weightGradient` (`3 * dimension`) and dLoss/dBias into `biasGradient` (one value).
    public func loss(
        embeddings: UnsafePointer<Float>, dimension: Int, pairs: [(Int, Int, label: Float)],
        gradient: UnsafeMutablePointer<Float>?, weightGradient: UnsafeMutablePointer<Float>?,
        biasGradient: UnsafeMutablePointer<Float>?
    ) -> Float {
        let cache = forward(embeddings: embeddings, dimension: dimension, pairs: pairs)
        backward(cache, embeddings: embeddings, gradient: gradient, weightGradient: weightGradient,
                 biasGradient: biasGradient)
        return Float(cache.loss)
    }

    /// The forward pass: logits and the mean loss.
    public func forward(
        embeddings: UnsafePointer<Float>, dimension: Int, pairs: [(Int, Int, label: Float)]
    ) -> Cache {
        let firsts = pairs.map(\.0)
        let seconds = pairs.map(\.1)
        let labels = pairs.map { Double($0.label) }
        checkShape(dimension)
        LossKernels.validate(dimension: dimension, rows: firsts + seconds, function: "PairClassifier")
        var logits = [Double](repeating: 0, count: pairs.count)
        var total = 0.0
        for index in pairs.indices {
            let z = logitDouble(embeddings: embeddings, first: firsts[index], second: seconds[index])
            logits[index] = z
            total += Swift.max(z, 0) - z * labels[index] + Foundation.log1p(Foundation.exp(-Swift.abs(z)))
        }
        let loss = pairs.isEmpty ? 0 : total / Double(pairs.count)
        return Cache(dimension: dimension, firsts: firsts, seconds: seconds, labels: labels,
                     logits: logits, loss: loss)
    }

    /// The backward pass: adds the gradients into whichever buffers are given. Needs the same
    /// `embeddings` as `forward` (the features are recomputed rather than cached).
    public func backward(
        _ cache: Cache, embeddings: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>?,
        weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?
    ) {
        if gradient == nil && weightGradient == nil && biasGradient == nil { return }
        let count = cache.logits.count
        guard count > 0 else { return }
        let d = dimension
        var biasSum = 0.0
        weights.withUnsafeBufferPointer { w in
            let wu = w.baseAddress!, wv = wu + d, wa = wu + 2 * d
            for index in 0..<count {
                let g = (Self.sigmoid(cache.logits[index]) - cache.labels[index]) / Double(count)
                biasSum += g
                let u = embeddings + cache.firsts[index] * d
                let v = embeddings + cache.seconds[index] * d
                if let weightGradient {
                    let gu = weightGradient, gv = gu + d, ga = gu + 2 * d
                    for k in 0..<d {
                        gu[k] += Float(g * Double(u[k]))
                        gv[k] += Float(g * Double(v[k]))
                        ga[k] += Float(g * Swift.abs(Double(u[k]) - Double(v[k])))
                    }
                }
                if let gradient {
                    let du = gradient + cache.firsts[index] * d
                    let dv = gradient + cache.seconds[index] * d
                    for k in 0..<d {
                        let difference = Double(u[k]) - Double(v[k])
                        let sign: Double = difference > 0 ? 1 : (difference < 0 ? -1 : 0)
                        let through = g * Double(wa[k]) * sign
                        du[k] += Float(g * Double(wu[k]) + through)
                        dv[k] += Float(g * Double(wv[k]) - through)
                    }
                }
            }
        }
        if let biasGradient { biasGradient.pointee += Float(biasSum) }
    }

    // MARK: Private

    private func checkShape(_ dimension: Int) {
        precondition(dimension == self.dimension,
                     "PairClassifier: built for dimension \(self.dimension), called with \(dimension)")
        precondition(weights.count == 3 * dimension,
                     "PairClassifier: weights has \(weights.count) values, expected \(3 * dimension)")
    }

    private func logitDouble(embeddings: UnsafePointer<Float>, first: Int, second: Int) -> Double {
        checkShape(dimension)
        let d = dimension
        let u = embeddings + first * d
        let v = embeddings + second * d
        return weights.withUnsafeBufferPointer { w in
            let wu = w.baseAddress!, wv = wu + d, wa = wu + 2 * d
            var z = Double(bias)
            for k in 0..<d {
                let x = Double(u[k]), y = Double(v[k])
                z += Double(wu[k]) * x + Double(wv[k]) * y + Double(wa[k]) * Swift.abs(x - y)
            }
            return z
        }
    }

    private static func sigmoid(_ z: Double) -> Double {
        if z >= 0 { return 1 / (1 + Foundation.exp(-z)) }
        let e = Foundation.exp(z)
        return e / (1 + e)
    }
}
