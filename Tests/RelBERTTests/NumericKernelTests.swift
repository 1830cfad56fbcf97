import Foundation
import RelBERT
import XCTest

final class NumericKernelTests: XCTestCase {
    func testErfMatchesLibm() {
        var worst: Float = 0
        var x: Float = -6
        while x <= 6 {
            worst = max(worst, abs(GELU.erf(x) - Float(Foundation.erf(Double(x)))))
            x += 0.001
        }
        XCTAssertLessThan(worst, 5e-7)
    }

    func testGELUMatchesDefinition() {
        let inputs: [Float] = [-5, -1.5, -0.3, 0, 0.2, 1, 3.7, 10]
        var out = [Float](repeating: 0, count: inputs.count)
        GELU.forward(out: &out, inp: inputs, count: inputs.count)
        for (x, y) in zip(inputs, out) {
            let exact = Double(x) * 0.5 * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            XCTAssertEqual(Double(y), exact, accuracy: 1e-6, "gelu(\(x))")
        }
    }

    func testLayerNormNormalises() {
        let rows = 3, width = 8
        let input: [Float] = (0 ..< rows * width).map { Float($0 % 5) * 1.5 - Float($0 / 7) }
        let gamma = [Float](repeating: 2, count: width), beta = [Float](repeating: 0.5, count: width)
        var out = [Float](repeating: 0, count: rows * width)
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
        LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, inp: input, gamma: gamma, beta: beta,
                          rows: rows, width: width, eps: 1e-12)
        for r in 0 ..< rows {
            let row = out[r * width ..< (r + 1) * width].map { ($0 - 0.5) / 2 }
            let m = row.reduce(0, +) / Float(width)
            let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(width)
            XCTAssertEqual(m, 0, accuracy: 1e-5)
            XCTAssertEqual(v, 1, accuracy: 1e-4)
        }
    }

    func testLinearAddsBiasAndResidual() {
        // x [2,3], W [2,3], b [2], residual [2,2]
        let x: [Float] = [1, 2, 3, 4, 5, 6]
        let w: [Float] = [1, 0, -1, 0.5, 0.5, 0.5]
        let b: [Float] = [10, 20]
        let residual: [Float] = [100, 200, 300, 400]
        var out = [Float](repeating: 0, count: 4)
        Linear.forward(out: &out, inp: x, weight: w, bias: b, residual: residual, rows: 2, inFeatures: 3, outFeatures: 2)
        let expected: [Float] = [108, 223, 308, 427.5]
        XCTAssertEqual(out, expected)
    }

    func testBalancedSplitCoversEverySequenceOnce() {
        let lengths = [20, 22, 31, 19, 25, 28, 20, 21, 40]
        let batch = TokenBatch(sequences: lengths.map { [Int32](repeating: 5, count: $0) })
        for parts in 1 ... 12 {
            let ranges = batch.balancedSplit(into: parts)
            XCTAssertEqual(ranges.count, min(parts, lengths.count))
            XCTAssertEqual(ranges.first?.lowerBound, 0)
            XCTAssertEqual(ranges.last?.upperBound, lengths.count)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
            XCTAssertTrue(ranges.allSatisfy { !$0.isEmpty })
        }
        let halves = batch.balancedSplit(into: 2).map { r in r.reduce(0) { $0 + lengths[$1] } }
        XCTAssertLessThanOrEqual(abs(halves[0] - halves[1]), 40)
    }

    func testSliceKeepsTokens() {
        let batch = TokenBatch(sequences: [[1, 2], [3], [4, 5, 6]])
        let slice = batch.slice(1 ..< 3)
        XCTAssertEqual(slice.tokenIDs, [3, 4, 5, 6])
        XCTAssertEqual(slice.starts, [0, 1, 4])
    }
}

final class FastExpTests: XCTestCase {
    func testFastExpIsAccurate() {
        var worst: Double = 0
        var x: Float = -80
        while x <= 80 {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(FastExp.exp(x)) - exact) / exact)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 5e-7)
        XCTAssertEqual(FastExp.exp(-200), 0)
        XCTAssertEqual(FastExp.exp(0), 1)
    }
}
