import Foundation

/// A one-hidden-layer perceptron (ReLU, softmax output, cross-entropy) trained with Adam and an L2
/// penalty, as scikit-learn's `MLPClassifier` trains it with its defaults: Glorot-uniform weights and
/// biases, minibatches of min(200, n) shuffled every epoch, Adam (β₁ 0.9, β₂ 0.999, ε 1e-8, the
/// step size corrected as sklearn does), the penalty `alpha/2 · ‖W‖² / batch`, and training stops
/// when the epoch's mean loss has not improved by `tolerance` for `patience` epochs in a row, or
/// after `maxEpochs`.
///
/// llm.c style: the parameters W1 [D, Hd], b1 [Hd], W2 [Hd, C], b2 [C] live in one flat buffer, the
/// gradients in another with the same layout; `forward` and `backward` keep their caches explicitly.
public final class MLPClassifier: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var hidden = 100
        public var learningRate: Float = 1e-3
        public var alpha: Float = 1e-4
        public var batchSize = 200
        public var maxEpochs = 200
        public var tolerance: Float = 1e-4
        public var patience = 10
        public var seed: UInt64 = 0
        public init(hidden: Int = 100, learningRate: Float = 1e-3) {
            self.hidden = hidden
            self.learningRate = learningRate
        }
    }

    public let inputs: Int
    public let classes: Int
    public let settings: Settings
    let parameters: FloatBuffer
    let gradients: FloatBuffer
    private let m: FloatBuffer
    private let v: FloatBuffer
    private var adamStep = 0
    /// Mean training loss of every epoch run.
    public private(set) var lossCurve: [Float] = []

    // Offsets into the flat buffers.
    private var w1: Int { 0 }
    private var b1: Int { inputs * settings.hidden }
    private var w2: Int { b1 + settings.hidden }
    private var b2: Int { w2 + settings.hidden * classes }
    var parameterCount: Int { b2 + classes }

    public init(inputs: Int, classes: Int, settings: Settings) {
        self.inputs = inputs
        self.classes = classes
        self.settings = settings
        let count = inputs * settings.hidden + settings.hidden + settings.hidden * classes + classes
        parameters = FloatBuffer(count: count)
        gradients = FloatBuffer(count: count)
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: count)
        var random = SplitMix64(seed: settings.seed)
        // Glorot uniform for ReLU layers (sklearn: bound sqrt(6 / (fan_in + fan_out)), biases too).
        func initialize(_ offset: Int, _ count: Int, fanIn: Int, fanOut: Int) {
            let bound = (6 / Float(fanIn + fanOut)).squareRoot()
            for i in 0 ..< count { parameters.pointer[offset + i] = (random.nextFloat() * 2 - 1) * bound }
        }
        initialize(w1, inputs * settings.hidden, fanIn: inputs, fanOut: settings.hidden)
        initialize(b1, settings.hidden, fanIn: inputs, fanOut: settings.hidden)
        initialize(w2, settings.hidden * classes, fanIn: settings.hidden, fanOut: classes)
        initialize(b2, classes, fanIn: settings.hidden, fanOut: classes)
    }

    /// What a forward pass keeps for its backward pass.
    final class Cache {
        var rows = 0
        var z1 = FloatBuffer(count: 0)      // [rows, Hd] before ReLU
        var a1 = FloatBuffer(count: 0)      // [rows, Hd] after ReLU
        var probabilities = FloatBuffer(count: 0)   // [rows, C]
        func reserve(rows: Int, hidden: Int, classes: Int) {
            self.rows = rows
            if z1.count < rows * hidden {
                z1 = FloatBuffer(count: rows * hidden)
                a1 = FloatBuffer(count: rows * hidden)
            }
            if probabilities.count < rows * classes { probabilities = FloatBuffer(count: rows * classes) }
        }
    }

    /// Class probabilities of `rows` inputs `x` [rows, D] into `cache.probabilities`.
    func forward(_ x: UnsafePointer<Float>, rows: Int, cache: Cache) {
        let hd = settings.hidden, c = classes, p = parameters.pointer
        cache.reserve(rows: rows, hidden: hd, classes: c)
        let z1 = cache.z1.pointer, a1 = cache.a1.pointer, out = cache.probabilities.pointer
        for r in 0 ..< rows { (z1 + r * hd).update(from: p + b1, count: hd) }
        BLAS.gemm(m: rows, n: hd, k: inputs, a: x, lda: inputs, b: p + w1, ldb: hd, beta: 1, c: z1, ldc: hd)
        for i in 0 ..< rows * hd { a1[i] = max(z1[i], 0) }
        for r in 0 ..< rows { (out + r * c).update(from: p + b2, count: c) }
        BLAS.gemm(m: rows, n: c, k: hd, a: a1, lda: hd, b: p + w2, ldb: c, beta: 1, c: out, ldc: c)
        for r in 0 ..< rows {
            let row = out + r * c
            var largest = row[0]
            for j in 1 ..< c { largest = max(largest, row[j]) }
            var sum: Float = 0
            for j in 0 ..< c { row[j] = Foundation.exp(row[j] - largest); sum += row[j] }
            for j in 0 ..< c { row[j] /= sum }
        }
    }

    /// The batch's loss (mean cross-entropy plus the penalty), and its gradient into `gradients`
    /// (overwritten). `scratch` holds dZ2 [rows, C] then dZ1 [rows, Hd].
    func backward(_ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, cache: Cache, scratch: Cache) -> Float {
        let rows = cache.rows, hd = settings.hidden, c = classes, p = parameters.pointer, g = gradients.pointer
        scratch.reserve(rows: rows, hidden: hd, classes: c)
        let dz2 = scratch.probabilities.pointer, dz1 = scratch.z1.pointer
        let probabilities = cache.probabilities.pointer
        var loss: Double = 0
        let n = Float(rows)
        for r in 0 ..< rows {
            let label = Int(labels[r])
            loss -= Double(Foundation.log(max(probabilities[r * c + label], 1e-10)))
            for j in 0 ..< c { dz2[r * c + j] = (probabilities[r * c + j] - (j == label ? 1 : 0)) / n }
        }
        var squares: Double = 0
        for i in w1 ..< b1 { squares += Double(p[i] * p[i]) }
        for i in w2 ..< b2 { squares += Double(p[i] * p[i]) }
        let penalty = Float(0.5 * Double(settings.alpha) * squares / Double(rows))
        // dW2 = A1ᵀ dZ2 + alpha W2 / n; db2 = Σ dZ2.
        let decay = settings.alpha / n
        for i in w2 ..< b2 { g[i] = decay * p[i] }
        BLAS.gemm(transposeA: true, m: hd, n: c, k: rows, a: cache.a1.pointer, lda: hd, b: dz2, ldb: c, beta: 1, c: g + w2, ldc: c)
        for j in 0 ..< c { var s: Float = 0; for r in 0 ..< rows { s += dz2[r * c + j] }; g[b2 + j] = s }
        // dZ1 = dZ2 W2ᵀ ⊙ (Z1 > 0).
        BLAS.gemm(transposeB: true, m: rows, n: hd, k: c, a: dz2, lda: c, b: p + w2, ldb: c, c: dz1, ldc: hd)
        let z1 = cache.z1.pointer
        for i in 0 ..< rows * hd where z1[i] <= 0 { dz1[i] = 0 }
        // dW1 = Xᵀ dZ1 + alpha W1 / n; db1 = Σ dZ1.
        for i in w1 ..< b1 { g[i] = decay * p[i] }
        BLAS.gemm(transposeA: true, m: inputs, n: hd, k: rows, a: x, lda: inputs, b: dz1, ldb: hd, beta: 1, c: g + w1, ldc: hd)
        for j in 0 ..< hd { g[b1 + j] = 0 }
        for r in 0 ..< rows { Vector.axpy(1, dz1 + r * hd, into: g + b1, count: hd) }
        return Float(loss / Double(rows)) + penalty
    }

    /// One Adam step with sklearn's bias correction folded into the step size.
    func adam() {
        adamStep += 1
        let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
        let t = Float(adamStep)
        let rate = settings.learningRate * (1 - Foundation.pow(beta2, t)).squareRoot() / (1 - Foundation.pow(beta1, t))
        let p = parameters.pointer, g = gradients.pointer, mp = m.pointer, vp = v.pointer
        for i in 0 ..< parameterCount {
            mp[i] = beta1 * mp[i] + (1 - beta1) * g[i]
            vp[i] = beta2 * vp[i] + (1 - beta2) * g[i] * g[i]
            p[i] -= rate * mp[i] / (vp[i].squareRoot() + epsilon)
        }
    }

    /// Trains on `x` [n, D] with `labels` until the loss stops improving or `maxEpochs`.
    public func fit(_ x: [Float], labels: [Int]) {
        let n = labels.count
        precondition(x.count == n * inputs, "MLPClassifier.fit: \(x.count) values for \(n) rows of \(inputs)")
        let batch = min(settings.batchSize, n)
        var order = Array(0 ..< n)
        var random = SplitMix64(seed: settings.seed &+ 1)
        let cache = Cache(), scratch = Cache()
        let xb = FloatBuffer(count: batch * inputs)
        var yb = [Int32](repeating: 0, count: batch)
        var best = Float.infinity
        var stale = 0
        x.withUnsafeBufferPointer { xs in
            for _ in 0 ..< settings.maxEpochs {
                random.shuffle(&order)
                var total: Double = 0
                var start = 0
                while start < n {
                    let rows = min(batch, n - start)
                    for r in 0 ..< rows {
                        let source = order[start + r]
                        (xb.pointer + r * inputs).update(from: xs.baseAddress! + source * inputs, count: inputs)
                        yb[r] = Int32(labels[source])
                    }
                    forward(xb.pointer, rows: rows, cache: cache)
                    let loss = yb.withUnsafeBufferPointer { backward(xb.pointer, labels: $0.baseAddress!, cache: cache, scratch: scratch) }
                    adam()
                    total += Double(loss) * Double(rows)
                    start += rows
                }
                let epochLoss = Float(total / Double(n))
                lossCurve.append(epochLoss)
                if epochLoss > best - settings.tolerance { stale += 1 } else { stale = 0 }
                best = min(best, epochLoss)
                if stale > settings.patience { break }
            }
        }
    }

    /// The most probable class of each row of `x` [n, D].
    public func predict(_ x: [Float]) -> [Int] {
        let n = x.count / inputs
        let cache = Cache()
        var result: [Int] = []
        result.reserveCapacity(n)
        x.withUnsafeBufferPointer { xs in
            var start = 0
            while start < n {
                let rows = min(1024, n - start)
                forward(xs.baseAddress! + start * inputs, rows: rows, cache: cache)
                for r in 0 ..< rows {
                    let row = cache.probabilities.pointer + r * classes
                    var best = 0
                    for j in 1 ..< classes where row[j] > row[best] { best = j }
                    result.append(best)
                }
                start += rows
            }
        }
        return result
    }
}
