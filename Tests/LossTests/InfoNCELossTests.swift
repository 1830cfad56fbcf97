import Foundation
import RelBERT
import XCTest

final class InfoNCELossTests: XCTestCase {

    // MARK: Golden fixtures

    func testMiniLMFixture() throws { try checkFixture("minilm") }
    func testTinyRobertaFixture() throws { try checkFixture("tiny-roberta") }

    private func checkFixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try LossFixture(name)
        var gradient = [Float](repeating: 0, count: fixture.embeddings.count)
        let loss = fixture.embeddings.withUnsafeBufferPointer { e in
            gradient.withUnsafeMutableBufferPointer { g in
                InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: fixture.dimension,
                                    positives: LossFixture.ncePositives, negatives: LossFixture.nceNegatives,
                                    temperature: 0.05, gradient: g.baseAddress!)
            }
        }
        let lossError = relativeError(Double(loss), Double(fixture.nceLoss))
        let gradientError = relativeMaxError(gradient, fixture.nceGradient)
        print("InfoNCE \(name): loss \(loss) vs \(fixture.nceLoss), relative error \(lossError); "
              + "gradient max|diff|/max|ref| \(gradientError)")
        XCTAssertLessThan(lossError, 1e-4, "loss", file: file, line: line)
        XCTAssertLessThan(gradientError, 1e-3, "gradient", file: file, line: line)
    }

    // MARK: Definition

    /// The stabilised evaluation agrees with the formula written out directly, with repeated rows
    /// among the positives and a negative that is also a positive.
    func testMatchesDirectFormula() {
        var random = LossTestRandom(seed: 11)
        let dimension = 5
        let embeddings = random.normals(7 * dimension)
        let positives = [0, 1, 2, 1]
        let negatives = [3, 4, 5, 6, 2]
        for requested in [0.05, 0.3, 1.0] {
            // The API takes a Float temperature; the direct formula uses the same value.
            let temperature = Double(Float(requested))
            let loss = embeddings.withUnsafeBufferPointer {
                InfoNCELoss.forward(embeddings: $0.baseAddress!, dimension: dimension, positives: positives,
                                    negatives: negatives, temperature: Float(temperature)).loss
            }
            func cosine(_ a: Int, _ b: Int) -> Double {
                var ab = 0.0, aa = 0.0, bb = 0.0
                for k in 0..<dimension {
                    let x = Double(embeddings[a * dimension + k]), y = Double(embeddings[b * dimension + k])
                    ab += x * y; aa += x * x; bb += y * y
                }
                return ab / (aa.squareRoot() * bb.squareRoot())
            }
            var expected = 0.0
            for i in positives {
                let negativeSum = negatives.reduce(0.0) { $0 + exp(cosine(i, $1) / temperature) }
                for k in positives {
                    let positive = exp(cosine(i, k) / temperature)
                    expected += -log(positive / (negativeSum + positive + 1e-5))
                }
            }
            XCTAssertEqual(loss, expected, accuracy: 1e-10 * expected, "t = \(temperature)")
        }
    }

    func testGradientIsAddedAndLossDoesNotDependOnIt() {
        var random = LossTestRandom(seed: 5)
        let dimension = 8
        let embeddings = random.normals(6 * dimension)
        var fresh = [Float](repeating: 0, count: embeddings.count)
        var preset = [Float](repeating: 1.5, count: embeddings.count)
        let (withoutGradient, withFresh, withPreset) = embeddings.withUnsafeBufferPointer { e in
            let a = InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: dimension, positives: [0, 1],
                                        negatives: [2, 3, 4], gradient: nil)
            let b = fresh.withUnsafeMutableBufferPointer {
                InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: dimension, positives: [0, 1],
                                    negatives: [2, 3, 4], gradient: $0.baseAddress!)
            }
            let c = preset.withUnsafeMutableBufferPointer {
                InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: dimension, positives: [0, 1],
                                    negatives: [2, 3, 4], gradient: $0.baseAddress!)
            }
            return (a, b, c)
        }
        XCTAssertEqual(withoutGradient, withFresh)
        XCTAssertEqual(withoutGradient, withPreset)
        XCTAssertGreaterThan(fresh.map { abs($0) }.max()!, 0.1)
        for index in embeddings.indices {
            XCTAssertEqual(preset[index], 1.5 + fresh[index], accuracy: 1e-6)
        }
        // Row 5 is in neither list.
        XCTAssertEqual(Array(fresh[(5 * dimension)...]), [Float](repeating: 0, count: dimension))
    }

    // MARK: Gradient

    func testFiniteDifferencesDefaultTemperature() { checkFiniteDifferences(temperature: 0.05, seed: 1) }
    func testFiniteDifferencesWarmTemperature() { checkFiniteDifferences(temperature: 0.5, seed: 2) }

    private func checkFiniteDifferences(temperature: Float, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var random = LossTestRandom(seed: seed)
        let dimension = 8
        // Rows 0-2 positives, 3-5 negatives; scaled so that the norms are not all alike.
        var embeddings = random.normals(6 * dimension)
        for k in 0..<dimension { embeddings[4 * dimension + k] *= 3 }
        let positives = [0, 1, 2], negatives = [3, 4, 5]
        var analytic = [Float](repeating: 0, count: embeddings.count)
        _ = embeddings.withUnsafeBufferPointer { e in
            analytic.withUnsafeMutableBufferPointer { g in
                InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: dimension, positives: positives,
                                    negatives: negatives, temperature: temperature, gradient: g.baseAddress!)
            }
        }
        let numeric = FiniteDifference.gradient(of: embeddings, step: 1e-4) { values in
            values.withUnsafeBufferPointer {
                InfoNCELoss.forward(embeddings: $0.baseAddress!, dimension: dimension, positives: positives,
                                    negatives: negatives, temperature: temperature).loss
            }
        }
        let error = relativeMaxError(analytic, numeric)
        print("InfoNCE finite differences, t = \(temperature): max|diff|/max|fd| \(error), max|fd| \(numeric.map(abs).max()!)")
        XCTAssertGreaterThan(numeric.map(abs).max()!, 1e-2, file: file, line: line)
        XCTAssertLessThan(error, 1e-5, file: file, line: line)
    }

    /// The loss depends on the rows only through cosines, so each row's gradient is orthogonal to
    /// the row (scale invariance).
    func testGradientIsOrthogonalToEachRow() {
        var random = LossTestRandom(seed: 3)
        let dimension = 16
        let embeddings = random.normals(10 * dimension)
        var gradient = [Float](repeating: 0, count: embeddings.count)
        _ = embeddings.withUnsafeBufferPointer { e in
            gradient.withUnsafeMutableBufferPointer { g in
                InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: dimension, positives: [0, 1, 2, 3],
                                    negatives: Array(4..<10), gradient: g.baseAddress!)
            }
        }
        for row in 0..<10 {
            var dot = 0.0, gg = 0.0, xx = 0.0
            for k in 0..<dimension {
                let x = Double(embeddings[row * dimension + k]), g = Double(gradient[row * dimension + k])
                dot += x * g; gg += g * g; xx += x * x
            }
            XCTAssertGreaterThan(gg, 1e-6, "row \(row) has a gradient")
            XCTAssertLessThan(abs(dot) / (gg * xx).squareRoot(), 1e-5, "row \(row)")
        }
    }

    /// A single positive with no negatives: only `c(p, p) = 1`, the loss is `log(1 + 1e-5 exp(-1/t))`
    /// and the gradient through the normalisation vanishes.
    func testSelfPairOnly() {
        let embeddings: [Float] = [0.3, -1.2, 2.0, 0.5]
        var gradient = [Float](repeating: 0, count: 4)
        let loss = embeddings.withUnsafeBufferPointer { e in
            gradient.withUnsafeMutableBufferPointer { g in
                InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: 4, positives: [0], negatives: [],
                                    temperature: 0.5, gradient: g.baseAddress!)
            }
        }
        XCTAssertEqual(Double(loss), log1p(1e-5 * exp(-2.0)), accuracy: 1e-9)
        XCTAssertLessThan(gradient.map(abs).max()!, 1e-7)
    }

    /// At a temperature of 0.001 the exponentials reach exp(1000), which overflows even a Double;
    /// the shifted evaluation stays finite and matches the limit.
    func testSmallTemperatureIsStable() {
        let dimension = 2
        // p0 = (1, 0), p1 = (0, 1), n = (1, 1)/sqrt(2)-ish direction.
        let embeddings: [Float] = [1, 0, 0, 1, 1, 1]
        var gradient = [Float](repeating: 0, count: embeddings.count)
        let loss = embeddings.withUnsafeBufferPointer { e in
            gradient.withUnsafeMutableBufferPointer { g in
                InfoNCELoss.compute(embeddings: e.baseAddress!, dimension: dimension, positives: [0, 1],
                                    negatives: [2], temperature: 0.001, gradient: g.baseAddress!)
            }
        }
        XCTAssertTrue(loss.isFinite)
        XCTAssertTrue(gradient.allSatisfy(\.isFinite))
        // Terms (i, i): c = 1 dominates, about 0. Terms (0, 1), (1, 0): c = 0 against a negative at
        // c = 1/sqrt(2): -log(exp(0) / (exp(707.1) + ...)) = 1000/sqrt(2), twice.
        XCTAssertEqual(Double(loss), 2 * 1000 / 2.0.squareRoot(), accuracy: 1e-2)
    }
}
