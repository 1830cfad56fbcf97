import Foundation
import RelBERT
import XCTest

final class TripletLossTests: XCTestCase {

    // MARK: Golden fixtures

    func testMiniLMFixture() throws { try checkFixture("minilm") }
    func testTinyRobertaFixture() throws { try checkFixture("tiny-roberta") }

    /// The fixtures use the plain Euclidean distance, summed over the triplets. PyTorch's
    /// `pairwise_distance` form (`|x1 - x2 + 1e-6|`) lands within float32 rounding of it too, so
    /// both are checked; the mean over triplets is not what the fixtures hold.
    private func checkFixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try LossFixture(name)
        func loss(epsilon: Float) -> Float {
            fixture.embeddings.withUnsafeBufferPointer {
                TripletLoss.compute(embeddings: $0.baseAddress!, dimension: fixture.dimension,
                                    triplets: LossFixture.triplets, margin: 1, distanceEpsilon: epsilon,
                                    gradient: nil)
            }
        }
        let defaultLoss = fixture.embeddings.withUnsafeBufferPointer {
            TripletLoss.compute(embeddings: $0.baseAddress!, dimension: fixture.dimension,
                                triplets: LossFixture.triplets, gradient: nil)
        }
        let plain = loss(epsilon: 0)
        let pytorch = loss(epsilon: TripletLoss.pytorchPairwiseEpsilon)
        let plainError = relativeError(Double(plain), Double(fixture.tripletLoss))
        let pytorchError = relativeError(Double(pytorch), Double(fixture.tripletLoss))
        print("Triplet \(name): reference \(fixture.tripletLoss); plain \(plain) (relative error \(plainError)); "
              + "eps 1e-6 \(pytorch) (relative error \(pytorchError))")
        XCTAssertEqual(defaultLoss, plain, file: file, line: line)
        XCTAssertLessThan(plainError, 1e-4, file: file, line: line)
        XCTAssertLessThan(pytorchError, 1e-4, file: file, line: line)
        XCTAssertGreaterThan(relativeError(Double(plain) / 4, Double(fixture.tripletLoss)), 1e-2,
                             "the mean would not match", file: file, line: line)
    }

    // MARK: Definition

    /// The margin is added (paper), not subtracted (original code), and the loss is a sum.
    func testHandComputedValues() {
        let embeddings: [Float] = [
            0, 0,   // 0: anchor
            3, 4,   // 1: |a - 1| = 5
            0, 1,   // 2: |a - 2| = 1
            0, 10,  // 3: |a - 3| = 10
        ]
        func loss(_ triplets: [(anchor: Int, positive: Int, negative: Int)], margin: Float = 1) -> Float {
            embeddings.withUnsafeBufferPointer {
                TripletLoss.compute(embeddings: $0.baseAddress!, dimension: 2, triplets: triplets,
                                    margin: margin, gradient: nil)
            }
        }
        XCTAssertEqual(loss([(0, 1, 2)]), 5, accuracy: 1e-6)            // 5 - 1 + 1 (3 if subtracted)
        XCTAssertEqual(loss([(0, 1, 3)]), 0)                            // 5 - 10 + 1 < 0
        XCTAssertEqual(loss([(0, 2, 1)], margin: 0.5), 0)               // 1 - 5 + 0.5 < 0
        XCTAssertEqual(loss([(0, 2, 1)], margin: 4.5), 0.5, accuracy: 1e-6)
        XCTAssertEqual(loss([(0, 1, 2), (0, 2, 1), (0, 1, 3)], margin: 4.5), 8.5 + 0.5, accuracy: 1e-5)
        XCTAssertEqual(loss([]), 0)
    }

    /// A zero distance (anchor == positive) has a zero gradient, not NaN; with PyTorch's eps it is
    /// `sqrt(dimension) * 1e-6`.
    func testZeroDistance() {
        let embeddings: [Float] = [1, 2, 1, 2, 1, 2.5]
        var gradient = [Float](repeating: 0, count: 6)
        let plain = embeddings.withUnsafeBufferPointer { e in
            gradient.withUnsafeMutableBufferPointer { g in
                TripletLoss.compute(embeddings: e.baseAddress!, dimension: 2, triplets: [(0, 1, 2)],
                                    gradient: g.baseAddress!)
            }
        }
        XCTAssertEqual(plain, 0.5, accuracy: 1e-6)
        XCTAssertTrue(gradient.allSatisfy(\.isFinite))
        // Only the negative term: dL/da = -(a - n)/|a - n| = (0, 1), dL/dn = (0, -1).
        XCTAssertEqual(gradient, [0, 1, 0, 0, 0, -1])
        let withEpsilon = embeddings.withUnsafeBufferPointer {
            TripletLoss.forward(embeddings: $0.baseAddress!, dimension: 2, triplets: [(0, 1, 2)],
                                distanceEpsilon: TripletLoss.pytorchPairwiseEpsilon)
        }
        XCTAssertEqual(withEpsilon.positiveDistances[0], 2.0.squareRoot() * 1e-6, accuracy: 1e-12)
    }

    // MARK: Gradient

    /// Finite differences on random rows, with some triplets inactive (their rows get nothing).
    func testFiniteDifferencesWithInactiveTriplets() { checkFiniteDifferences(epsilon: 0) }
    func testFiniteDifferencesPyTorchDistance() { checkFiniteDifferences(epsilon: TripletLoss.pytorchPairwiseEpsilon) }

    private func checkFiniteDifferences(epsilon: Float, file: StaticString = #filePath, line: UInt = #line) {
        var random = LossTestRandom(seed: 7)
        let dimension = 8
        var embeddings = random.normals(8 * dimension)
        // Row 5 is far from everything: as a negative it switches its triplet off.
        for k in 0..<dimension { embeddings[5 * dimension + k] += 10 }
        // Rows 6 and 7 appear only in an inactive triplet.
        let triplets: [(anchor: Int, positive: Int, negative: Int)] = [
            (0, 1, 2), (3, 4, 5), (2, 0, 4), (1, 3, 0), (6, 7, 5), (4, 2, 1),
        ]
        let cache = embeddings.withUnsafeBufferPointer {
            TripletLoss.forward(embeddings: $0.baseAddress!, dimension: dimension, triplets: triplets,
                                margin: 1, distanceEpsilon: epsilon)
        }
        let active = triplets.indices.filter { cache.isActive($0) }
        XCTAssertFalse(active.isEmpty, file: file, line: line)
        XCTAssertFalse(cache.isActive(1), file: file, line: line)
        XCTAssertFalse(cache.isActive(4), file: file, line: line)
        // Away from the kink, so that central differences see a smooth function.
        for margin in cache.margins { XCTAssertGreaterThan(abs(margin), 1e-2, file: file, line: line) }

        var analytic = [Float](repeating: 0, count: embeddings.count)
        let loss = embeddings.withUnsafeBufferPointer { e in
            analytic.withUnsafeMutableBufferPointer { g in
                TripletLoss.compute(embeddings: e.baseAddress!, dimension: dimension, triplets: triplets,
                                    margin: 1, distanceEpsilon: epsilon, gradient: g.baseAddress!)
            }
        }
        XCTAssertEqual(Double(loss), active.reduce(0.0) { $0 + cache.margins[$1] }, accuracy: 1e-5,
                       file: file, line: line)
        let numeric = FiniteDifference.gradient(of: embeddings, step: 1e-3) { values in
            values.withUnsafeBufferPointer {
                TripletLoss.forward(embeddings: $0.baseAddress!, dimension: dimension, triplets: triplets,
                                    margin: 1, distanceEpsilon: epsilon).loss
            }
        }
        let error = relativeMaxError(analytic, numeric)
        print("Triplet finite differences (eps \(epsilon)), \(active.count) of \(triplets.count) active: "
              + "max|diff|/max|fd| \(error)")
        XCTAssertLessThan(error, 1e-5, file: file, line: line)
        XCTAssertGreaterThan(numeric.map(abs).max()!, 0.1, file: file, line: line)
        // Rows 5, 6, 7 are only in inactive triplets.
        XCTAssertEqual(Array(analytic[(5 * dimension)...]), [Float](repeating: 0, count: 3 * dimension),
                       file: file, line: line)
    }
}
