import Foundation
import RelBERT
import XCTest

final class PairClassifierTests: XCTestCase {

    // MARK: Initialisation

    func testInitialisationIsSeededAndBounded() {
        let dimension = 32
        let a = PairClassifier(dimension: dimension, seed: 42)
        let b = PairClassifier(dimension: dimension, seed: 42)
        let c = PairClassifier(dimension: dimension, seed: 43)
        XCTAssertEqual(a.dimension, dimension)
        XCTAssertEqual(a.weights.count, 3 * dimension)
        XCTAssertEqual(a.weights, b.weights)
        XCTAssertEqual(a.bias, b.bias)
        XCTAssertNotEqual(a.weights, c.weights)
        let bound = Float(1 / Double(3 * dimension).squareRoot())
        for value in a.weights + [a.bias] {
            XCTAssertLessThanOrEqual(abs(value), bound)
        }
        // Uniform on [-bound, bound]: spread over the interval, not concentrated.
        XCTAssertGreaterThan(a.weights.max()!, 0.8 * bound)
        XCTAssertLessThan(a.weights.min()!, -0.8 * bound)
        XCTAssertLessThan(abs(a.weights.reduce(0, +) / Float(a.weights.count)), 0.2 * bound)
    }

    // MARK: Definition

    /// With a zero layer every logit is 0: the loss is log 2 whatever the labels, and
    /// dLoss/dBias = mean(1/2 - label).
    func testZeroLayer() {
        var classifier = PairClassifier(dimension: 3, seed: 1)
        classifier.weights = [Float](repeating: 0, count: 9)
        classifier.bias = 0
        let embeddings: [Float] = [1, 2, 3, -1, 0, 4]
        var biasGradient: Float = 0
        let loss = embeddings.withUnsafeBufferPointer {
            classifier.loss(embeddings: $0.baseAddress!, dimension: 3, pairs: [(0, 1, 1), (1, 0, 0), (0, 0, 1)],
                            gradient: nil, weightGradient: nil, biasGradient: &biasGradient)
        }
        XCTAssertEqual(Double(loss), log(2.0), accuracy: 1e-7)
        XCTAssertEqual(biasGradient, (-0.5 + 0.5 - 0.5) / 3, accuracy: 1e-7)
    }

    /// The logit is `w . [u; v; |u - v|] + b`, and large logits do not overflow.
    func testLogitAndLargeLogits() {
        var classifier = PairClassifier(dimension: 2, seed: 1)
        classifier.weights = [1, 2, 3, 4, 5, 6]
        classifier.bias = 0.5
        let embeddings: [Float] = [1, -1, 2, 3]
        let logit = embeddings.withUnsafeBufferPointer {
            classifier.logit(embeddings: $0.baseAddress!, first: 0, second: 1)
        }
        // u = (1, -1), v = (2, 3), |u - v| = (1, 4): 1 - 2 + 6 + 12 + 5 + 24 + 0.5.
        XCTAssertEqual(logit, 46.5)
        classifier.bias = 1000
        let (positive, negative) = embeddings.withUnsafeBufferPointer { e in
            (classifier.loss(embeddings: e.baseAddress!, dimension: 2, pairs: [(0, 1, 1)],
                             gradient: nil, weightGradient: nil, biasGradient: nil),
             classifier.loss(embeddings: e.baseAddress!, dimension: 2, pairs: [(0, 1, 0)],
                             gradient: nil, weightGradient: nil, biasGradient: nil))
        }
        XCTAssertEqual(positive, 0)
        XCTAssertEqual(negative, 1046)
    }

    /// d|x|/dx at 0 is 0 (PyTorch's `sign`): where u and v agree, the |u - v| weights contribute
    /// nothing to the row gradients or to their own gradient.
    func testAbsoluteValueAtZero() {
        let classifier = PairClassifier(dimension: 4, seed: 9)
        // u and v agree in coordinates 0 and 2.
        let embeddings: [Float] = [0.5, -0.25, 1, 2,
                                   0.5, 0.75, 1, -1]
        var gradient = [Float](repeating: 0, count: 8)
        var weightGradient = [Float](repeating: 0, count: 12)
        var biasGradient: Float = 0
        _ = embeddings.withUnsafeBufferPointer { e in
            gradient.withUnsafeMutableBufferPointer { g in
                weightGradient.withUnsafeMutableBufferPointer { w in
                    classifier.loss(embeddings: e.baseAddress!, dimension: 4, pairs: [(0, 1, 1)],
                                    gradient: g.baseAddress!, weightGradient: w.baseAddress!,
                                    biasGradient: &biasGradient)
                }
            }
        }
        let g = biasGradient  // dLoss/dz for the one pair
        XCTAssertNotEqual(g, 0)
        let w = classifier.weights
        for k in 0..<4 {
            let sign: Float = [0, -1, 0, 1][k]  // sign(u - v)
            XCTAssertEqual(gradient[k], g * (w[k] + w[8 + k] * sign), accuracy: 1e-6, "du[\(k)]")
            XCTAssertEqual(gradient[4 + k], g * (w[4 + k] - w[8 + k] * sign), accuracy: 1e-6, "dv[\(k)]")
            XCTAssertEqual(weightGradient[8 + k], g * abs(embeddings[k] - embeddings[4 + k]), accuracy: 1e-7)
            XCTAssertEqual(weightGradient[k], g * embeddings[k], accuracy: 1e-7)
        }
        XCTAssertEqual(weightGradient[8], 0)
        XCTAssertEqual(weightGradient[10], 0)
    }

    // MARK: Gradients

    func testFiniteDifferences() {
        var random = LossTestRandom(seed: 13)
        let dimension = 8
        let embeddings = random.normals(6 * dimension)
        var classifier = PairClassifier(dimension: dimension, seed: 21)
        // Larger weights than the initialisation, so that the logits spread over the sigmoid.
        classifier.weights = classifier.weights.map { $0 * 4 }
        classifier.bias = 0.3
        let pairs: [(Int, Int, label: Float)] = [(0, 1, 1), (2, 3, 0), (1, 4, 1), (5, 0, 0), (3, 3, 1), (4, 2, 0)]

        var gradient = [Float](repeating: 0.25, count: embeddings.count)  // added to, not overwritten
        var weightGradient = [Float](repeating: 0, count: 3 * dimension)
        var biasGradient: Float = -1
        let loss = embeddings.withUnsafeBufferPointer { e in
            gradient.withUnsafeMutableBufferPointer { g in
                weightGradient.withUnsafeMutableBufferPointer { w in
                    classifier.loss(embeddings: e.baseAddress!, dimension: dimension, pairs: pairs,
                                    gradient: g.baseAddress!, weightGradient: w.baseAddress!,
                                    biasGradient: &biasGradient)
                }
            }
        }
        let cache = embeddings.withUnsafeBufferPointer {
            classifier.forward(embeddings: $0.baseAddress!, dimension: dimension, pairs: pairs)
        }
        XCTAssertEqual(Double(loss), cache.loss, accuracy: 1e-6)
        XCTAssertGreaterThan(cache.logits.map(abs).max()!, 0.5)
        gradient = gradient.map { $0 - 0.25 }
        biasGradient += 1

        func lossOf(_ classifier: PairClassifier, _ values: [Float]) -> Double {
            values.withUnsafeBufferPointer {
                classifier.forward(embeddings: $0.baseAddress!, dimension: dimension, pairs: pairs).loss
            }
        }
        let numericRows = FiniteDifference.gradient(of: embeddings, step: 1e-3) { lossOf(classifier, $0) }
        let numericWeights = FiniteDifference.gradient(of: classifier.weights, step: 1e-3) { weights in
            var perturbed = classifier
            perturbed.weights = weights
            return lossOf(perturbed, embeddings)
        }
        let numericBias = FiniteDifference.gradient(of: [classifier.bias], step: 1e-3) { bias in
            var perturbed = classifier
            perturbed.bias = bias[0]
            return lossOf(perturbed, embeddings)
        }[0]
        let rowError = relativeMaxError(gradient, numericRows)
        let weightError = relativeMaxError(weightGradient, numericWeights)
        print("PairClassifier finite differences: rows \(rowError), weights \(weightError), "
              + "bias \(biasGradient) vs \(numericBias)")
        XCTAssertLessThan(rowError, 1e-4)
        XCTAssertLessThan(weightError, 1e-4)
        XCTAssertEqual(Double(biasGradient), numericBias, accuracy: 1e-5 * max(1, abs(numericBias)))
        XCTAssertGreaterThan(abs(numericBias), 1e-3)
    }
}
