import Foundation

/// The triplet loss as the EMNLP 2021 RelBERT paper writes it, summed over the triplets:
///
///     L = sum over (a, p, n) of max(0, |a - p| - |a - n| + margin)
///
/// with Euclidean distances and margin 1 by default.
///
/// Note: the original RelBERT code subtracts the margin (`|a - p| - |a - n| - margin`) instead of
/// adding it; we follow the paper, which is also what the golden fixtures compute.
///
/// Distance form: `distanceEpsilon` is added to every coordinate of the difference, i.e. the
/// distance is `|x1 - x2 + eps|`, which is what `torch.nn.functional.pairwise_distance(x1, x2,
/// p=2, eps=1e-6)` (and so `TripletMarginLoss`) computes. The default is the plain distance
/// `|x1 - x2|` (`eps = 0`), as `golden.json` writes it and the closer match: on `minilm` it gives `loss.triplet`
/// to 1.8e-7 relative against 3.0e-7 with `eps = 1e-6` (both inside float32 rounding of the
/// reference; on `tiny-roberta` the two agree to 1e-8). Pass `pytorchPairwiseEpsilon` to get the
/// `TripletMarginLoss` form.
///
/// Gradients: the hinge passes gradient only where its argument is strictly positive (PyTorch's
/// `relu`), and the gradient of a distance that is exactly zero is zero (PyTorch's norm backward).
public enum TripletLoss {
    /// The margin of the paper.
    public static let defaultMargin: Float = 1
    /// The `eps` of `torch.nn.functional.pairwise_distance` and `TripletMarginLoss`.
    public static let pytorchPairwiseEpsilon: Float = 1e-6

    /// What `forward` computed and `backward` needs.
    public struct Cache: Sendable {
        public let dimension: Int
        public let anchors: [Int]
        public let positives: [Int]
        public let negatives: [Int]
        /// `|a - p + eps|` and `|a - n + eps|` for each triplet.
        public let positiveDistances: [Double]
        public let negativeDistances: [Double]
        /// `|a - p| - |a - n| + margin` for each triplet, before the hinge.
        public let margins: [Double]
        /// The loss, in `Double`.
        public let loss: Double
        /// Differences `a - p + eps` and `a - n + eps`, `[triplets, dimension]` each.
        let positiveDifferences: [Double]
        let negativeDifferences: [Double]

        /// Whether triplet `index` contributes (its hinge is active).
        public func isActive(_ index: Int) -> Bool { margins[index] > 0 }
    }

    /// Loss of the given triplets of rows of `embeddings` (`[rows, dimension]`, row-major). When
    /// `gradient` is given, dLoss/dEmbedding is added into it (same shape as `embeddings`).
    public static func compute(
        embeddings: UnsafePointer<Float>, dimension: Int,
        triplets: [(anchor: Int, positive: Int, negative: Int)], margin: Float = 1,
        distanceEpsilon: Float = 0, gradient: UnsafeMutablePointer<Float>?
    ) -> Float {
        let cache = forward(embeddings: embeddings, dimension: dimension, triplets: triplets,
                            margin: margin, distanceEpsilon: distanceEpsilon)
        if let gradient { backward(cache, gradient: gradient) }
        return Float(cache.loss)
    }

    /// The forward pass: differences, distances, hinge arguments and the loss.
    public static func forward(
        embeddings: UnsafePointer<Float>, dimension: Int,
        triplets: [(anchor: Int, positive: Int, negative: Int)], margin: Float = 1,
        distanceEpsilon: Float = 0
    ) -> Cache {
        let anchors = triplets.map(\.anchor)
        let positives = triplets.map(\.positive)
        let negatives = triplets.map(\.negative)
        LossKernels.validate(dimension: dimension, rows: anchors + positives + negatives,
                             function: "TripletLoss")
        precondition(margin.isFinite, "TripletLoss: margin must be finite")
        let count = triplets.count
        let eps = Double(distanceEpsilon)
        var positiveDifferences = [Double](repeating: 0, count: count * dimension)
        var negativeDifferences = [Double](repeating: 0, count: count * dimension)
        var positiveDistances = [Double](repeating: 0, count: count)
        var negativeDistances = [Double](repeating: 0, count: count)
        var margins = [Double](repeating: 0, count: count)
        var loss = 0.0

        /// Writes `x - y + eps` into `target` and returns its norm.
        func difference(_ x: Int, _ y: Int, into target: UnsafeMutablePointer<Double>) -> Double {
            let a = embeddings + x * dimension
            let b = embeddings + y * dimension
            var squares = 0.0
            for index in 0..<dimension {
                let value = Double(a[index]) - Double(b[index]) + eps
                target[index] = value
                squares += value * value
            }
            return squares.squareRoot()
        }

        positiveDifferences.withUnsafeMutableBufferPointer { dp in
            negativeDifferences.withUnsafeMutableBufferPointer { dn in
                for index in 0..<count {
                    let offset = index * dimension
                    let toPositive = difference(anchors[index], positives[index], into: dp.baseAddress! + offset)
                    let toNegative = difference(anchors[index], negatives[index], into: dn.baseAddress! + offset)
                    positiveDistances[index] = toPositive
                    negativeDistances[index] = toNegative
                    let argument = toPositive - toNegative + Double(margin)
                    margins[index] = argument
                    if argument > 0 { loss += argument }
                }
            }
        }
        return Cache(dimension: dimension, anchors: anchors, positives: positives, negatives: negatives,
                     positiveDistances: positiveDistances, negativeDistances: negativeDistances,
                     margins: margins, loss: loss, positiveDifferences: positiveDifferences,
                     negativeDifferences: negativeDifferences)
    }

    /// The backward pass: adds dLoss/dEmbedding into `gradient` (`[rows, dimension]`).
    ///
    /// For an active triplet, with `d+ = a - p + eps` and `d- = a - n + eps`:
    /// dL/da = d+/|d+| - d-/|d-|, dL/dp = -d+/|d+|, dL/dn = d-/|d-|.
    public static func backward(_ cache: Cache, gradient: UnsafeMutablePointer<Float>) {
        let dimension = cache.dimension
        cache.positiveDifferences.withUnsafeBufferPointer { dp in
            cache.negativeDifferences.withUnsafeBufferPointer { dn in
                for index in 0..<cache.margins.count where cache.margins[index] > 0 {
                    let offset = index * dimension
                    let toPositive = dp.baseAddress! + offset
                    let toNegative = dn.baseAddress! + offset
                    let scalePositive = cache.positiveDistances[index] > 0 ? 1 / cache.positiveDistances[index] : 0
                    let scaleNegative = cache.negativeDistances[index] > 0 ? 1 / cache.negativeDistances[index] : 0
                    let anchor = gradient + cache.anchors[index] * dimension
                    let positive = gradient + cache.positives[index] * dimension
                    let negative = gradient + cache.negatives[index] * dimension
                    for k in 0..<dimension {
                        let gp = toPositive[k] * scalePositive
                        let gn = toNegative[k] * scaleNegative
                        // Rows may coincide (anchor == positive, ...): each contribution is added.
                        positive[k] += Float(-gp)
                        negative[k] += Float(gn)
                        anchor[k] += Float(gp - gn)
                    }
                }
            }
        }
    }
}
