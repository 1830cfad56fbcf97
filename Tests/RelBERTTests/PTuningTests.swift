import Foundation
@testable import RelBERT
import XCTest

/// P-tuning on the tiny RoBERTa and the bundled SemEval-2012 data: the prompt's tokens, a search that
/// lowers its loss, determinism for a seed, and a language model left untouched.
final class PTuningTests: XCTestCase {
    func testTriggersTakeTheMaskPositions() throws {
        let model = try PretrainedModel.load(from: TestPaths.defaultModel)
        let prompt = ContinuousPrompt(before: 3, between: 2, after: 1)
        let v = model.config.vocabSize
        let ids = try prompt.tokenize(WordPair("paris", "france"), tokenizer: model.tokenizer, vocabulary: v, maxLength: 64)
        let paris = model.tokenizer.encode("paris").ids.dropFirst().dropLast()
        let france = model.tokenizer.encode("france").ids.dropFirst().dropLast()
        let expected: [Int32] = [model.tokenizer.startTokenID] + [0, 1, 2].map { Int32(v + $0) } + paris
            + [3, 4].map { Int32(v + $0) } + france + [Int32(v + 5), model.tokenizer.endTokenID]
        XCTAssertEqual(ids, expected)
        XCTAssertThrowsError(try prompt.tokenize(WordPair("a [MASK]", "b"), tokenizer: model.tokenizer, vocabulary: v, maxLength: 64))
        XCTAssertThrowsError(try prompt.tokenize(WordPair(String(repeating: "word ", count: 80), "b"), tokenizer: model.tokenizer,
                                                 vocabulary: v, maxLength: 64)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }

    func testSearchLowersTheLossAndIsDeterministic() throws {
        let model = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        let before = model.parameters.storage.array()
        let data = try SemEvalDataset.load(directory: TestPaths.data.appendingPathComponent("semeval2012_task2"))
        var settings = PTuning.Settings()
        settings.prompt = ContinuousPrompt(before: 2, between: 1, after: 1)
        settings.epochs = 20
        settings.learningRate = 3e-2
        let relations = Array(data.training.prefix(16))
        let search = PTuning(settings: settings)
        let first = try search.run(model: model, relations: relations)
        XCTAssertEqual(first.vectors.count, 4 * model.config.hiddenSize)
        XCTAssertEqual(first.steps, 40)
        // The same yardstick (every batch of epoch 0) before and after.
        let initial = try search.loss(model: model, relations: relations, vectors: search.initialVectors(hidden: model.config.hiddenSize))
        let learned = try search.loss(model: model, relations: relations, vectors: first.vectors)
        // A tiny random model gives the prompt little to work with: the fall is small but must be there.
        XCTAssertLessThan(learned, initial - 2e-3, "the loss falls: \(initial) → \(learned); steps \(first.lossCurve)")
        let second = try PTuning(settings: settings).run(model: model, relations: relations)
        XCTAssertEqual(second.vectors, first.vectors, "same seed, same prompt")
        XCTAssertEqual(second.lossCurve, first.lossCurve)
        settings.seed = 1
        XCTAssertNotEqual(try PTuning(settings: settings).run(model: model, relations: relations).vectors, first.vectors)
        XCTAssertEqual(model.parameters.storage.array(), before, "the language model stays frozen")
    }

    /// The whole objective (prompt vectors → encoder → average pooling → triplet loss with in-batch
    /// negatives, mean over triplets) against finite differences in the prompt vectors.
    func testObjectiveGradientMatchesFiniteDifferences() throws {
        let model = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        let data = try SemEvalDataset.load(directory: TestPaths.data.appendingPathComponent("semeval2012_task2"))
        var settings = PTuning.Settings()
        settings.prompt = ContinuousPrompt(before: 2, between: 1, after: 1)
        let h = model.config.hiddenSize
        let sampler = TripletSampler(relations: Array(data.training.prefix(8)), relationsPerBatch: 8, tripletsPerRelation: 4, seed: 0)
        let batch = sampler.batch(epoch: 0, index: 0)
        let objective = PTuning.Objective(model: model, settings: settings)
        var vectors = PTuning(settings: settings).initialVectors(hidden: h)
        var gradient = [Float](repeating: 0, count: vectors.count)
        _ = try vectors.withUnsafeBufferPointer { v in
            try gradient.withUnsafeMutableBufferPointer { g in try objective.loss(batch, vectors: v.baseAddress!, dVectors: g.baseAddress!) }
        }
        func loss() throws -> Double {
            Double(try vectors.withUnsafeBufferPointer { try objective.loss(batch, vectors: $0.baseAddress!, dVectors: nil) })
        }
        let order = gradient.indices.sorted { abs(gradient[$0]) > abs(gradient[$1]) }
        for index in order.prefix(12) {
            let original = vectors[index]
            let eps: Float = 1e-2
            vectors[index] = original + eps
            let plus = try loss()
            vectors[index] = original - eps
            let minus = try loss()
            vectors[index] = original
            let numeric = (plus - minus) / Double(2 * eps)
            XCTAssertEqual(Double(gradient[index]), numeric, accuracy: 1e-4 + 5e-2 * abs(numeric), "entry \(index)")
        }
        XCTAssertGreaterThan(abs(gradient[order[0]]), 1e-4)
    }
}
