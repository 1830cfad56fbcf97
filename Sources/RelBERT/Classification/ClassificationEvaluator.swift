import Dispatch
import Foundation

/// Lexical relation classification as in the RelBERT paper: a pair (h, t) becomes the relation
/// embeddings of (h, t) and (t, h) side by side, from the frozen model; an MLP is trained on the
/// training split for every hidden size × learning rate of the grid, the one with the best
/// validation macro-F1 is kept (CogALexV, without a validation split: 100 and 1e-3), and its test
/// predictions are scored.
public struct ClassificationEvaluator: Sendable {
    public static let hiddenSizes = [100, 150, 200]
    public static let learningRates: [Float] = [1e-3, 1e-4, 1e-5]

    public struct Scores: Sendable, Equatable, Codable {
        public let macroF1: Double
        public let microF1: Double
        /// Per label, in the dataset's label order.
        public let perClassF1: [Double]
    }

    public struct Result: Sendable {
        public let dataset: String
        public let labels: [String]
        public let hidden: Int
        public let learningRate: Float
        public let validationMacroF1: Double?
        public let test: Scores
        public let epochs: Int
        /// Every grid point tried: (hidden, learning rate, validation macro-F1).
        public let grid: [(hidden: Int, learningRate: Float, validationMacroF1: Double)]
    }

    public var hiddenSizes = Self.hiddenSizes
    public var learningRates = Self.learningRates
    public var seed: UInt64 = 0
    public var maxEpochs = 200
    public init() {}

    /// `[examples.count, 2H]`: each pair's forward and reverse embeddings, from `vectors` (rows
    /// addressed by `row(pair)`).
    public static func features(_ examples: [LexicalDataset.Example], dimension: Int,
                                vector: (WordPair) -> ArraySlice<Float>) -> [Float] {
        var x: [Float] = []
        x.reserveCapacity(examples.count * 2 * dimension)
        for example in examples {
            x += vector(example.pair)
            x += vector(example.pair.reversed)
        }
        return x
    }

    public func evaluate(_ dataset: LexicalDataset, dimension: Int, vector: (WordPair) -> ArraySlice<Float>) -> Result {
        let inputs = 2 * dimension
        let trainX = Self.features(dataset.train, dimension: dimension, vector: vector)
        let trainY = dataset.train.map(\.label)
        let testX = Self.features(dataset.test, dimension: dimension, vector: vector)
        let testY = dataset.test.map(\.label)
        @Sendable func train(_ hidden: Int, _ rate: Float) -> MLPClassifier {
            var settings = MLPClassifier.Settings(hidden: hidden, learningRate: rate)
            settings.seed = seed
            settings.maxEpochs = maxEpochs
            let mlp = MLPClassifier(inputs: inputs, classes: dataset.labels.count, settings: settings)
            mlp.fit(trainX, labels: trainY)
            return mlp
        }
        if dataset.validation.isEmpty {
            let mlp = train(100, 1e-3)
            return Result(dataset: dataset.name, labels: dataset.labels, hidden: 100, learningRate: 1e-3, validationMacroF1: nil,
                          test: Self.scores(truth: testY, predicted: mlp.predict(testX), classes: dataset.labels.count),
                          epochs: mlp.lossCurve.count, grid: [])
        }
        let validationX = Self.features(dataset.validation, dimension: dimension, vector: vector)
        let validationY = dataset.validation.map(\.label)
        // The grid points train independently: one per thread, OpenBLAS single-threaded.
        let points = hiddenSizes.flatMap { hidden in learningRates.map { (hidden, $0) } }
        let trained = Locked([(MLPClassifier, Double)?](repeating: nil, count: points.count))
        let previousThreads = BLAS.threads
        BLAS.setThreads(1)
        DispatchQueue.concurrentPerform(iterations: points.count) { i in
            let mlp = train(points[i].0, points[i].1)
            let f1 = Self.scores(truth: validationY, predicted: mlp.predict(validationX), classes: dataset.labels.count).macroF1
            trained.mutate { $0[i] = (mlp, f1) }
        }
        BLAS.setThreads(previousThreads)
        let results = trained.value.map { $0! }
        let grid = zip(points, results).map { (hidden: $0.0, learningRate: $0.1, validationMacroF1: $1.1) }
        // The first best in grid order (hidden, then rate), whatever order the threads finished in.
        var best = results[0]
        for result in results.dropFirst() where result.1 > best.1 { best = result }
        let chosen = best.0
        return Result(dataset: dataset.name, labels: dataset.labels, hidden: chosen.settings.hidden,
                      learningRate: chosen.settings.learningRate, validationMacroF1: best.1,
                      test: Self.scores(truth: testY, predicted: chosen.predict(testX), classes: dataset.labels.count),
                      epochs: chosen.lossCurve.count, grid: grid)
    }

    /// F1 per class; macro = their mean over the classes present in the truth or the predictions
    /// (as scikit-learn's `f1_score(average="macro")`); micro = accuracy for single-label data.
    public static func scores(truth: [Int], predicted: [Int], classes: Int) -> Scores {
        var tp = [Int](repeating: 0, count: classes), fp = tp, fn = tp
        for (t, p) in zip(truth, predicted) {
            if t == p { tp[t] += 1 } else { fp[p] += 1; fn[t] += 1 }
        }
        var perClass: [Double] = []
        var present: [Double] = []
        for c in 0 ..< classes {
            let denominator = 2 * tp[c] + fp[c] + fn[c]
            let f1 = denominator == 0 ? 0 : 2 * Double(tp[c]) / Double(denominator)
            perClass.append(f1)
            if tp[c] + fp[c] + fn[c] > 0 { present.append(f1) }
        }
        let correct = tp.reduce(0, +)
        return Scores(macroF1: present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count),
                      microF1: truth.isEmpty ? 0 : Double(correct) / Double(truth.count), perClassF1: perClass)
    }
}

/// A value shared by the grid's threads.
final class Locked<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
    var value: Value { lock.withLock { stored } }
}
