import Foundation
import RelBERT
import XCTest

/// Central finite differences on the tiny RoBERTa: the analytic gradient of a scalar function of the
/// pooled embeddings, for entries of every parameter tensor (every layer's backward), with and
/// without dropout (the masks are keyed, so both evaluations see the same ones).
final class FiniteDifferenceTests: XCTestCase {
    func run(dropout: DropoutSettings?) throws {
        let model = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        let parameters = model.parameters.copy()
        let encoder = Encoder(config: model.config, parameters: parameters)
        let h = model.config.hiddenSize
        let embedder = try RelationEmbedder(model: model, template: PromptTemplate("a"), pooling: .averageNoMask)
        let pairs = [WordPair("paris", "france"), WordPair("puppy", "dog"), WordPair("hot", "cold")]
        let batch = TokenBatch(sequences: try pairs.map { try embedder.tokenize($0) })
        let activations = EncoderActivations(config: model.config, keepsAllLayers: true, supportsDropout: dropout != nil)
        let mask = model.tokenizer.maskTokenID
        // f = Σ c ⊙ pooled, with fixed pseudo-random weights c.
        let weights = (0 ..< pairs.count * h).map { Float(sin(Double($0) * 1.7) + 0.3) }
        let pooled = FloatBuffer(count: pairs.count * h)
        func f() -> Double {
            encoder.forward(batch, activations: activations, dropout: dropout)
            _ = Pooling.averageNoMask.pool(batch: batch, states: activations.lastHiddenState.pointer,
                                           maskTokenID: mask, hidden: h, out: pooled.pointer)
            var total = 0.0
            for i in 0 ..< weights.count { total += Double(weights[i]) * Double(pooled.pointer[i]) }
            return total
        }
        _ = f()
        let dStates = FloatBuffer(count: batch.tokenCount * h)
        Pooling.averageNoMask.backward(batch: batch, dOut: weights, maskTokenID: mask, hidden: h, dStates: dStates.pointer)
        let gradients = Parameters(layout: parameters.layout)
        encoder.backward(batch, activations: activations, dLastHidden: dStates.pointer, gradients: gradients,
                         workspace: BackwardWorkspace())

        var checked = 0
        for tensor in parameters.layout.tensors {
            // The entries with the largest gradients of the tensor (well above float noise), plus one fixed.
            let g = gradients.storage.array(tensor.range)
            let order = g.indices.sorted { abs(g[$0]) > abs(g[$1]) }
            guard let top = order.first else { continue }
            // Below ~1e-3 a float finite difference is noise: there, only check that it is small too
            // (e.g. the key bias, whose gradient is zero: softmax ignores a shift of all scores).
            let resolvable = abs(g[top]) > 1e-3
            for index in order.prefix(resolvable ? 3 : 1) {
                let at = tensor.offset + index
                let original = parameters.pointer[at]
                let eps: Float = 1e-2 * max(1, abs(original))
                parameters.pointer[at] = original + eps
                let plus = f()
                parameters.pointer[at] = original - eps
                let minus = f()
                parameters.pointer[at] = original
                let numeric = (plus - minus) / Double(2 * eps)
                let analytic = Double(g[index])
                if resolvable {
                    XCTAssertEqual(analytic, numeric, accuracy: 2e-2 * max(abs(numeric), 0.05),
                                   "\(tensor.name)[\(index)] dropout \(dropout != nil)")
                } else {
                    XCTAssertLessThan(abs(numeric), 3e-3, "\(tensor.name)[\(index)] should have a tiny gradient")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 3 * 20)
    }

    func testEveryLayerWithoutDropout() throws {
        try run(dropout: nil)
    }

    func testEveryLayerWithDropout() throws {
        try run(dropout: DropoutSettings(hidden: 0.1, attention: 0.1, seed: 7, step: 3, exampleIDs: [10, 11, 12]))
    }

    func testDropoutMasksDoNotDependOnTheSplit() throws {
        let model = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        let embedder = try RelationEmbedder(model: model, template: PromptTemplate("a"), pooling: .averageNoMask)
        let pairs = [WordPair("paris", "france"), WordPair("puppy", "dog"), WordPair("hot", "cold"), WordPair("a", "b")]
        let batch = TokenBatch(sequences: try pairs.map { try embedder.tokenize($0) })
        let h = model.config.hiddenSize
        let settings = DropoutSettings(hidden: 0.1, attention: 0.1, seed: 1, step: 5, exampleIDs: [0, 1, 2, 3])
        let whole = EncoderActivations(config: model.config, keepsAllLayers: true, supportsDropout: true)
        model.encoder.forward(batch, activations: whole, dropout: settings)
        let shard = batch.slice(2 ..< 4)
        let part = EncoderActivations(config: model.config, keepsAllLayers: true, supportsDropout: true)
        var shardSettings = settings
        shardSettings.exampleIDs = [2, 3]
        model.encoder.forward(shard, activations: part, dropout: shardSettings)
        let offset = batch.starts[2] * h
        let a = whole.lastHiddenState.array(offset ..< offset + shard.tokenCount * h)
        let b = part.lastHiddenState.array(0 ..< shard.tokenCount * h)
        // Equal up to float summation order (OpenBLAS blocks a product differently for other row counts).
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max() ?? 1, 1e-5)
        // And dropout really changes something.
        let plain = EncoderActivations(config: model.config, keepsAllLayers: true)
        model.encoder.forward(shard, activations: plain)
        XCTAssertNotEqual(plain.lastHiddenState.array(0 ..< shard.tokenCount * h), b)
    }
}
