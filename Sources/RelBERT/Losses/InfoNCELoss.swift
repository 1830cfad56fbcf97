import Foundation

/// The InfoNCE loss of the RelBERT journal recipe (the default training loss).
///
/// For the positive rows `p` and negative rows `n` of one relation, with `c` the cosine similarity
/// and `t` the temperature:
///
///     L = sum over i, k in positives (i == k included) of
///         -log( exp(c(p_i, p_k) / t) / (sum_j exp(c(p_i, n_j) / t) + exp(c(p_i, p_k) / t) + 1e-5) )
///
/// Each term is evaluated as `log(D_ik) - a_ik` with `a = c / t`, in `Double`, after shifting
/// every exponent of row `i` by `M_i = max(max_r a_ir, log 1e-5)`, so no exponential exceeds 1
/// whatever the temperature (`exp(20)` at `t = 0.05` would fit, `exp(1 / 0.001)` would not).
///
/// The cosine is PyTorch's `cosine_similarity(x1, x2, eps=1e-8)`: `x1 / max(|x1|, eps)` dotted
/// with `x2 / max(|x2|, eps)`, differentiated through the normalisation. That includes the terms
/// `c(p_i, p_i)`: their gradient `2 g (u - c u) / |x|` is zero analytically (`c = 1`) and tiny
/// numerically, exactly as in PyTorch's autograd.
///
/// llm.c style: `forward` returns a `Cache` with the activations that `backward` needs;
/// `compute` does both.
public enum InfoNCELoss {
    /// The temperature of the RelBERT recipe.
    public static let defaultTemperature: Float = 0.05
    /// Added to the denominator inside the logarithm, as in RelBERT.
    public static let denominatorEpsilon: Double = 1e-5
    /// Lower bound of a row norm in the cosine (PyTorch's default `eps`).
    public static let normEpsilon: Double = 1e-8

    /// What `forward` computed and `backward` needs.
    public struct Cache: Sendable {
        public let dimension: Int
        public let positives: [Int]
        public let negatives: [Int]
        public let temperature: Double
        /// The loss, in `Double`.
        public let loss: Double
        /// Unit vectors `[m + q, dimension]` of the rows `positives + negatives`, in that order.
        let units: [Double]
        /// The (clamped) norm of each of those rows, and whether the clamp was active.
        let norms: [Double]
        let clamped: [Bool]
        /// Cosines `[m, m + q]`: entry `(i, r)` is `c(p_i, row r of positives + negatives)`.
        let cosines: [Double]
    }

    /// Loss of the selected rows of `embeddings` (`[rows, dimension]`, row-major). When `gradient`
    /// is given, dLoss/dEmbedding is added into it (same shape as `embeddings`).
    public static func compute(
        embeddings: UnsafePointer<Float>, dimension: Int, positives: [Int], negatives: [Int],
        temperature: Float = 0.05, gradient: UnsafeMutablePointer<Float>?
    ) -> Float {
        let cache = forward(embeddings: embeddings, dimension: dimension, positives: positives,
                            negatives: negatives, temperature: temperature)
        if let gradient { backward(cache, gradient: gradient) }
        return Float(cache.loss)
    }

    /// The forward pass: unit vectors, cosines and the loss.
    public static func forward(
        embeddings: UnsafePointer<Float>, dimension: Int, positives: [Int], negatives: [Int],
        temperature: Float = 0.05
    ) -> Cache {
        LossKernels.validate(dimension: dimension, rows: positives + negatives, function: "InfoNCELoss")
        precondition(temperature > 0 && temperature.isFinite,
                     "InfoNCELoss: temperature must be positive and finite, got \(temperature)")
        let rows = positives + negatives
        let m = positives.count
        let width = rows.count
        let t = Double(temperature)

        var units = [Double](repeating: 0, count: width * dimension)
        var norms = [Double](repeating: 0, count: width)
        var clamped = [Bool](repeating: false, count: width)
        units.withUnsafeMutableBufferPointer { u in
            norms.withUnsafeMutableBufferPointer { n in
                clamped.withUnsafeMutableBufferPointer { c in
                    LossKernels.normalizeRows(embeddings, dimension: dimension, rows: rows,
                                              epsilon: normEpsilon, into: u.baseAddress!,
                                              norms: n.baseAddress!, clamped: c.baseAddress!)
                }
            }
        }

        var cosines = [Double](repeating: 0, count: m * width)
        units.withUnsafeBufferPointer { u in
            cosines.withUnsafeMutableBufferPointer { c in
                let u = u.baseAddress!
                for i in 0..<m {
                    for r in 0..<width {
                        c[i * width + r] = LossKernels.dot(u + i * dimension, u + r * dimension, dimension)
                    }
                }
            }
        }

        var loss = 0.0
        cosines.withUnsafeBufferPointer { c in
            for i in 0..<m {
                let row = Row(cosines: c.baseAddress! + i * width, positives: m, width: width, temperature: t)
                for k in 0..<m {
                    let logit = c[i * width + k] / t
                    // -log(exp(a) / D) = log(D) - a, with D shifted by exp(-M).
                    loss += Foundation.log(row.denominator(logit: logit)) + row.shift - logit
                }
            }
        }
        return Cache(dimension: dimension, positives: positives, negatives: negatives,
                     temperature: t, loss: loss, units: units, norms: norms, clamped: clamped,
                     cosines: cosines)
    }

    /// The backward pass: adds dLoss/dEmbedding into `gradient` (`[rows, dimension]`).
    public static func backward(_ cache: Cache, gradient: UnsafeMutablePointer<Float>) {
        let m = cache.positives.count
        let width = m + cache.negatives.count
        let dimension = cache.dimension
        let t = cache.temperature
        guard m > 0 else { return }

        // dLoss/dCosine for every (i, r).
        var dCosines = [Double](repeating: 0, count: m * width)
        cache.cosines.withUnsafeBufferPointer { c in
            dCosines.withUnsafeMutableBufferPointer { d in
                for i in 0..<m {
                    let cosines = c.baseAddress! + i * width
                    let dRow = d.baseAddress! + i * width
                    let row = Row(cosines: cosines, positives: m, width: width, temperature: t)
                    // d/da_ik of log(D_ik) - a_ik, and the sum over k of 1 / D_ik ...
                    var inverseSum = 0.0
                    for k in 0..<m {
                        let shifted = Foundation.exp(cosines[k] / t - row.shift)
                        let inverse = 1 / (row.negatives + shifted + row.epsilon)
                        inverseSum += inverse
                        dRow[k] = shifted * inverse - 1
                    }
                    // ... which gives d/da_ij of sum_k log(D_ik) for every negative j.
                    for j in m..<width {
                        dRow[j] = Foundation.exp(cosines[j] / t - row.shift) * inverseSum
                    }
                    for r in 0..<width { dRow[r] /= t }
                }
            }
        }

        // Through the cosines: c = u . v with u = x / |x|, v = y / |y|:
        // dc/dx = (v - c u) / |x|, dc/dy = (u - c v) / |y| (no projection when a norm was clamped).
        var accumulated = [Double](repeating: 0, count: width * dimension)
        cache.units.withUnsafeBufferPointer { u in
            accumulated.withUnsafeMutableBufferPointer { a in
                let u = u.baseAddress!
                let a = a.baseAddress!
                for i in 0..<m {
                    let ui = u + i * dimension
                    let ai = a + i * dimension
                    for r in 0..<width {
                        let g = dCosines[i * width + r]
                        if g == 0 { continue }
                        let c = cache.cosines[i * width + r]
                        let ur = u + r * dimension
                        let ar = a + r * dimension
                        let projectI = cache.clamped[i] ? 0 : c
                        let projectR = cache.clamped[r] ? 0 : c
                        let scaleI = g / cache.norms[i]
                        let scaleR = g / cache.norms[r]
                        for index in 0..<dimension {
                            let x = ui[index], y = ur[index]
                            ai[index] += scaleI * (y - projectI * x)
                            ar[index] += scaleR * (x - projectR * y)
                        }
                    }
                }
            }
        }
        accumulated.withUnsafeBufferPointer { a in
            LossKernels.addRows(a.baseAddress!, rows: cache.positives + cache.negatives,
                                dimension: dimension, into: gradient)
        }
    }

    /// The shifted sums of one anchor `p_i`: `D_ik * exp(-shift) = negatives + exp(a_ik - shift)
    /// + epsilon`.
    private struct Row {
        let shift: Double
        let negatives: Double
        let epsilon: Double

        init(cosines: UnsafePointer<Double>, positives m: Int, width: Int, temperature t: Double) {
            let logEpsilon = Foundation.log(InfoNCELoss.denominatorEpsilon)
            var shift = logEpsilon
            for r in 0..<width { shift = Swift.max(shift, cosines[r] / t) }
            var sum = 0.0
            for j in m..<width { sum += Foundation.exp(cosines[j] / t - shift) }
            self.shift = shift
            self.negatives = sum
            self.epsilon = Foundation.exp(logEpsilon - shift)
        }

        @inline(__always)
        func denominator(logit: Double) -> Double {
            negatives + Foundation.exp(logit - shift) + epsilon
        }
    }
}
