import Foundation
@testable import RelBERT
import XCTest

/// The lexical relation classifier: the MLP's gradient against finite differences, that it learns,
/// the F1 arithmetic, and the bundled datasets' sizes.
final class ClassificationTests: XCTestCase {
    /// Every parameter's gradient (cross-entropy + L2 penalty) against central differences in Double.
    func testMLPGradientMatchesFiniteDifferences() {
        var settings = MLPClassifier.Settings(hidden: 4, learningRate: 1e-3)
        settings.alpha = 0.1
        let mlp = MLPClassifier(inputs: 5, classes: 3, settings: settings)
        var random = SplitMix64(seed: 7)
        let rows = 6
        let x = (0 ..< rows * 5).map { _ in random.nextFloat() * 2 - 1 }
        let labels: [Int32] = [0, 1, 2, 1, 0, 2]
        let cache = MLPClassifier.Cache(), scratch = MLPClassifier.Cache()
        func loss() -> Float {
            x.withUnsafeBufferPointer { xs in
                mlp.forward(xs.baseAddress!, rows: rows, cache: cache)
                return labels.withUnsafeBufferPointer { mlp.backward(xs.baseAddress!, labels: $0.baseAddress!, cache: cache, scratch: scratch) }
            }
        }
        _ = loss()
        let analytic = Array(UnsafeBufferPointer(start: mlp.gradients.pointer, count: mlp.parameterCount))
        var worst: Float = 0
        for i in 0 ..< mlp.parameterCount {
            let saved = mlp.parameters.pointer[i]
            let h: Float = 1e-3
            mlp.parameters.pointer[i] = saved + h
            let up = loss()
            mlp.parameters.pointer[i] = saved - h
            let down = loss()
            mlp.parameters.pointer[i] = saved
            let numeric = (up - down) / (2 * h)
            // ReLU kinks make a few differences one-sided; they are rare with these inputs.
            worst = max(worst, abs(numeric - analytic[i]) / max(1e-2, abs(numeric) + abs(analytic[i])))
        }
        XCTAssertLessThan(worst, 2e-2)
    }

    /// Three Gaussian blobs: the MLP separates them, and training stops before the epoch cap once the
    /// loss stops improving.
    func testMLPLearnsSeparableClasses() {
        var random = SplitMix64(seed: 3)
        let centres: [[Float]] = [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]]
        var x: [Float] = [], y: [Int] = []
        for i in 0 ..< 600 {
            let c = i % 3
            x += centres[c].map { $0 + (random.nextFloat() - 0.5) }
            y.append(c)
        }
        let mlp = MLPClassifier(inputs: 4, classes: 3, settings: MLPClassifier.Settings(hidden: 16, learningRate: 1e-2))
        mlp.fit(x, labels: y)
        let predicted = mlp.predict(x)
        XCTAssertEqual(ClassificationEvaluator.scores(truth: y, predicted: predicted, classes: 3).microF1, 1.0)
        XCTAssertLessThan(mlp.lossCurve.count, 200)
        XCTAssertLessThan(mlp.lossCurve.last!, mlp.lossCurve.first!)
    }

    /// As scikit-learn's f1_score: per class 2tp / (2tp + fp + fn); macro over the classes that occur.
    func testF1Arithmetic() {
        let scores = ClassificationEvaluator.scores(truth: [0, 0, 1, 1, 2], predicted: [0, 1, 1, 1, 0], classes: 4)
        XCTAssertEqual(scores.perClassF1[0], 0.5, accuracy: 1e-12)
        XCTAssertEqual(scores.perClassF1[1], 0.8, accuracy: 1e-12)
        XCTAssertEqual(scores.perClassF1[2], 0, accuracy: 1e-12)
        XCTAssertEqual(scores.macroF1, 1.3 / 3, accuracy: 1e-12)   // class 3 never occurs: left out
        XCTAssertEqual(scores.microF1, 0.6, accuracy: 1e-12)
    }

    /// The split sizes and labels of data/SOURCES.md.
    func testBundledDatasets() throws {
        let root = TestPaths.data.appendingPathComponent("lexical_relation_classification")
        let expected: [String: (Int, Int, Int, Int)] = [
            "BLESS": (18582, 1327, 6637, 6), "EVALution": (5160, 372, 1846, 7), "K&H+N": (40256, 2876, 14377, 4),
            "ROOT09": (8933, 638, 3191, 3), "CogALexV": (3054, 0, 4260, 5),
        ]
        for name in LexicalDataset.bundledNames {
            let dataset = try LexicalDataset.load(name: name, directory: root)
            let (train, validation, test, labels) = expected[name]!
            XCTAssertEqual(dataset.train.count, train, name)
            XCTAssertEqual(dataset.validation.count, validation, name)
            XCTAssertEqual(dataset.test.count, test, name)
            XCTAssertEqual(dataset.labels.count, labels, name)
        }
        XCTAssertEqual(try LexicalDataset.load(name: "CogALexV", directory: root).labels, ["ANT", "HYPER", "PART_OF", "RANDOM", "SYN"])
        XCTAssertThrowsError(try LexicalDataset.load(name: "NoSuchSet", directory: root))
    }
}
