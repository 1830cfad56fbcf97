import RelBERT
import XCTest

/// AdamW's eight-lane loop against the formula written out one element at a time: the same bits,
/// over several steps, with a count that leaves a scalar tail in every thread's chunk. (Its parity
/// with torch.optim.AdamW is checked in TrainingStepTests.)
final class AdamWTests: XCTestCase {
    func testLanesGiveTheScalarFormulasBits() {
        let count = 1_003
        let settings = AdamW.Settings(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01)
        var random = SplitMix(seed: 7)
        let start = (0 ..< count).map { _ in random.next(in: -1 ... 1) }
        let gradients = (0 ..< 4).map { step in
            (0 ..< count).map { i in i % 5 == step ? 0 : random.next(in: -1e-2 ... 1e-2) }
        }
        for threads in [1, 3] {
            let adam = AdamW(parameterCount: count, settings: settings)
            let parameters = FloatBuffer(count: count)
            parameters.pointer.update(from: start, count: count)
            var p = start, m = [Float](repeating: 0, count: count), v = m
            for (step, g) in gradients.enumerated() {
                let lr: Float = 1e-3 / Float(step + 1)
                g.withUnsafeBufferPointer { adam.update(parameters: parameters.pointer, gradients: $0.baseAddress!, count: count, learningRate: lr, threads: threads) }
                let t = Float(step + 1)
                let stepSize = lr / (1 - powf(settings.beta1, t))
                let scale = 1 / (1 - powf(settings.beta2, t)).squareRoot()
                for i in 0 ..< count {
                    p[i] *= 1 - lr * settings.weightDecay
                    m[i] = settings.beta1 * m[i] + (1 - settings.beta1) * g[i]
                    v[i] = settings.beta2 * v[i] + (1 - settings.beta2) * g[i] * g[i]
                    p[i] -= stepSize * m[i] / (v[i].squareRoot() * scale + settings.epsilon)
                }
                XCTAssertEqual(parameters.array().map(\.bitPattern), p.map(\.bitPattern), "\(threads) thread(s), step \(step + 1)")
                XCTAssertEqual(adam.firstMoment.array().map(\.bitPattern), m.map(\.bitPattern))
                XCTAssertEqual(adam.secondMoment.array().map(\.bitPattern), v.map(\.bitPattern))
            }
            XCTAssertNotEqual(p, start)
        }
    }
}

/// A small deterministic generator for test data.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(in range: ClosedRange<Float>) -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return range.lowerBound + (range.upperBound - range.lowerBound) * Float(z >> 40) / Float(1 << 24)
    }
}
