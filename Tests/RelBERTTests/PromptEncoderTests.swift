import Foundation
import RelBERT
import XCTest

/// Central finite differences for the LSTM kernel (both directions, input and every weight) and for
/// P-tuning's whole prompt encoder (embedding → 2-layer BiLSTM → MLP), every tensor.
final class PromptEncoderTests: XCTestCase {
    /// Fixed pseudo-random weights: f = Σ c ⊙ output.
    func weights(_ count: Int) -> [Float] { (0 ..< count).map { Float(sin(Double($0) * 1.3) + 0.2) } }

    func testLSTMGradientsMatchFiniteDifferences() {
        let steps = 5, inFeatures = 6, hidden = 4, g4 = 4 * hidden
        var random = SplitMix64(seed: 3)
        func values(_ n: Int, _ scale: Float) -> FloatBuffer {
            FloatBuffer((0 ..< n).map { _ in (random.nextFloat() * 2 - 1) * scale })
        }
        let x = values(steps * inFeatures, 1), wih = values(g4 * inFeatures, 0.6), whh = values(g4 * hidden, 0.6)
        let bih = values(g4, 0.3), bhh = values(g4, 0.3)
        let c = weights(steps * hidden)
        for reversed in [false, true] {
            let cache = LSTM.Cache(steps: steps, hidden: hidden)
            let out = FloatBuffer(count: steps * hidden)
            func f() -> Double {
                LSTM.forward(out: out.pointer, outStride: hidden, inp: x.pointer, steps: steps, inFeatures: inFeatures,
                             hidden: hidden, weightIH: wih.pointer, weightHH: whh.pointer, biasIH: bih.pointer,
                             biasHH: bhh.pointer, reversed: reversed, cache: cache)
                return (0 ..< c.count).reduce(0.0) { $0 + Double(c[$1]) * Double(out.pointer[$1]) }
            }
            _ = f()
            let dx = FloatBuffer(count: x.count), dwih = FloatBuffer(count: wih.count), dwhh = FloatBuffer(count: whh.count)
            let dbih = FloatBuffer(count: g4), dbhh = FloatBuffer(count: g4)
            c.withUnsafeBufferPointer { dOut in
                LSTM.backward(dInp: dx.pointer, accumulateInput: false, dOut: dOut.baseAddress!, dOutStride: hidden,
                              inp: x.pointer, steps: steps, inFeatures: inFeatures, hidden: hidden,
                              weightIH: wih.pointer, weightHH: whh.pointer, dWeightIH: dwih.pointer, dWeightHH: dwhh.pointer,
                              dBiasIH: dbih.pointer, dBiasHH: dbhh.pointer, reversed: reversed, cache: cache)
            }
            for (name, value, gradient) in [("x", x, dx), ("weight_ih", wih, dwih), ("weight_hh", whh, dwhh),
                                            ("bias_ih", bih, dbih), ("bias_hh", bhh, dbhh)] {
                // Every entry: these tensors are small.
                for i in 0 ..< value.count {
                    let original = value.pointer[i]
                    let eps: Float = 1e-2
                    value.pointer[i] = original + eps
                    let plus = f()
                    value.pointer[i] = original - eps
                    let minus = f()
                    value.pointer[i] = original
                    let numeric = (plus - minus) / Double(2 * eps)
                    XCTAssertEqual(Double(gradient.pointer[i]), numeric, accuracy: 1e-3 + 1e-2 * abs(numeric),
                                   "\(name)[\(i)] reversed \(reversed)")
                }
            }
        }
    }

    func testPromptEncoderGradientsMatchFiniteDifferences() {
        let encoder = PromptEncoder(rows: 5, width: 8, seed: 11)
        XCTAssertEqual(encoder.tensors.count, 1 + 2 * 2 * 4 + 4)
        XCTAssertEqual(encoder.parameterCount, 5 * 8 + 4 * (16 * 8 + 16 * 4 + 16 + 16) + 2 * (64 + 8))
        let cache = encoder.makeCache()
        let c = weights(5 * 8)
        // The ReLU's on/off pattern: a difference that flips a unit crosses the kink and is not a derivative.
        var pattern: [Bool] = []
        func f() -> Double {
            encoder.forward(cache)
            return (0 ..< c.count).reduce(0.0) { $0 + Double(c[$1]) * Double(cache.output.pointer[$1]) }
        }
        func reluPattern() -> [Bool] { encoder.preActivation(cache).map { $0 > 0 } }
        _ = f()
        pattern = reluPattern()
        encoder.zeroGradients()
        c.withUnsafeBufferPointer { encoder.backward(cache, dOutput: $0.baseAddress!) }
        var checked = 0, kinks = 0
        for tensor in encoder.tensors {
            let g = encoder.gradients.array(tensor.range)
            // The largest entries and two fixed ones of every tensor.
            let order = g.indices.sorted { abs(g[$0]) > abs(g[$1]) }
            for index in Array(order.prefix(3)) + [0, tensor.count / 2] {
                let at = tensor.offset + index
                let original = encoder.parameters.pointer[at]
                let eps: Float = 1e-2
                encoder.parameters.pointer[at] = original + eps
                let plus = f()
                let plusPattern = reluPattern()
                encoder.parameters.pointer[at] = original - eps
                let minus = f()
                let minusPattern = reluPattern()
                encoder.parameters.pointer[at] = original
                if plusPattern != pattern || minusPattern != pattern { kinks += 1; continue }
                let numeric = (plus - minus) / Double(2 * eps)
                XCTAssertEqual(Double(g[index]), numeric, accuracy: 1e-3 + 1e-2 * abs(numeric), "\(tensor.name)[\(index)]")
                checked += 1
            }
            XCTAssertGreaterThan(g.map(abs).max() ?? 0, 1e-4, "\(tensor.name) gets a gradient")
        }
        XCTAssertEqual(checked + kinks, encoder.tensors.count * 5)
        XCTAssertLessThan(kinks, 8, "most differences stay off the ReLU's kink")
        // A second backward adds (gradients accumulate over a batch of examples until zeroed).
        let once = encoder.gradients.array()
        c.withUnsafeBufferPointer { encoder.backward(cache, dOutput: $0.baseAddress!) }
        let twice = encoder.gradients.array()
        for i in stride(from: 0, to: once.count, by: 37) { XCTAssertEqual(twice[i], 2 * once[i], accuracy: 1e-5 + 1e-5 * abs(once[i])) }
    }

    func testSameSeedSameEncoder() {
        let a = PromptEncoder(rows: 3, width: 4, seed: 5), b = PromptEncoder(rows: 3, width: 4, seed: 5)
        XCTAssertEqual(a.parameters.array(), b.parameters.array())
        XCTAssertNotEqual(a.parameters.array(), PromptEncoder(rows: 3, width: 4, seed: 6).parameters.array())
    }
}

/// The encoder with a continuous prompt: token ids past the vocabulary read prompt vectors, and the
/// backward pass returns dLoss/d(prompt vectors) — checked against finite differences and against the
/// same prompt spelled with ordinary tokens.
final class ContinuousPromptTests: XCTestCase {
    func testPromptVectorGradientsMatchFiniteDifferences() throws {
        let model = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        let config = model.config
        let h = config.hiddenSize, vocabulary = config.vocabSize
        let encoder = Encoder(config: config, parameters: model.parameters)
        let embedder = try RelationEmbedder(model: model, template: PromptTemplate("a"), pooling: .averageNoMask)
        // Two prompts; replace some of their tokens by the prompt vectors 0, 1 and 2.
        var sequences = try [WordPair("paris", "france"), WordPair("puppy", "dog")].map { try embedder.tokenize($0) }
        let original = sequences
        sequences[0][1] = Int32(vocabulary); sequences[0][2] = Int32(vocabulary + 1)
        sequences[1][1] = Int32(vocabulary); sequences[1][3] = Int32(vocabulary + 2)
        let soft = TokenBatch(sequences: sequences)
        let hard = TokenBatch(sequences: original)
        // Prompt vectors equal to the word rows they replace: the same activations as the hard prompt.
        let table = model.parameters.pointer + model.parameters.layout.wordEmbeddings
        let vectors = FloatBuffer(count: 3 * h)
        for (row, id) in [original[0][1], original[0][2], original[1][3]].enumerated() {
            vectors.pointer.advanced(by: row * h).update(from: table + Int(id) * h, count: h)
        }
        // [1][1] reuses vector 0, so it must be the same token as [0][1] for the comparison to hold.
        try XCTSkipUnless(original[0][1] == original[1][1], "the template's second token differs between prompts")
        let activations = EncoderActivations(config: config, keepsAllLayers: true, supportsDropout: false)
        encoder.forward(hard, activations: activations)
        let hardStates = activations.lastHiddenState.array(0 ..< hard.tokenCount * h)
        encoder.forward(soft, activations: activations, promptVectors: vectors.pointer)
        XCTAssertEqual(activations.lastHiddenState.array(0 ..< soft.tokenCount * h), hardStates)

        // Now move the vectors away from the word rows and check the gradient.
        for i in 0 ..< vectors.count { vectors.pointer[i] += Float(sin(Double(i) * 0.7)) * 0.05 }
        let weights = (0 ..< 2 * h).map { Float(cos(Double($0) * 1.1) + 0.2) }
        let pooled = FloatBuffer(count: 2 * h)
        func f() -> Double {
            encoder.forward(soft, activations: activations, promptVectors: vectors.pointer)
            _ = Pooling.averageNoMask.pool(batch: soft, states: activations.lastHiddenState.pointer,
                                           maskTokenID: model.tokenizer.maskTokenID, hidden: h, out: pooled.pointer)
            return (0 ..< weights.count).reduce(0.0) { $0 + Double(weights[$1]) * Double(pooled.pointer[$1]) }
        }
        _ = f()
        let dStates = FloatBuffer(count: soft.tokenCount * h)
        Pooling.averageNoMask.backward(batch: soft, dOut: weights, maskTokenID: model.tokenizer.maskTokenID, hidden: h,
                                       dStates: dStates.pointer)
        let gradients = Parameters(layout: model.parameters.layout)
        let dVectors = FloatBuffer(count: vectors.count)
        encoder.backward(soft, activations: activations, dLastHidden: dStates.pointer, gradients: gradients,
                         workspace: BackwardWorkspace(), dPromptVectors: dVectors.pointer)
        var checked = 0
        for index in 0 ..< vectors.count where index % 3 == 0 {
            let value = vectors.pointer[index]
            let eps: Float = 1e-2
            vectors.pointer[index] = value + eps
            let plus = f()
            vectors.pointer[index] = value - eps
            let minus = f()
            vectors.pointer[index] = value
            let numeric = (plus - minus) / Double(2 * eps)
            XCTAssertEqual(Double(dVectors.pointer[index]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "vector entry \(index)")
            checked += 1
        }
        XCTAssertEqual(checked, 32)
        XCTAssertGreaterThan(dVectors.array().map(abs).max() ?? 0, 1e-3)

        // Without the weights' gradients (a prompt search): the same bits for the vectors, and the
        // weight matrices' gradients left alone.
        _ = f()
        let inputOnly = FloatBuffer(count: vectors.count)
        let untouched = Parameters(layout: model.parameters.layout)
        encoder.backward(soft, activations: activations, dLastHidden: dStates.pointer, gradients: untouched,
                         workspace: BackwardWorkspace(), dPromptVectors: inputOnly.pointer, weightGradients: false)
        XCTAssertEqual(inputOnly.array(), dVectors.array())
        let layer = model.parameters.layout.layers[0]
        XCTAssertTrue(untouched.storage.array(layer.queryKeyValueWeight ..< layer.queryKeyValueWeight + 3 * h * h).allSatisfy { $0 == 0 })
        XCTAssertFalse(gradients.storage.array(layer.queryKeyValueWeight ..< layer.queryKeyValueWeight + 3 * h * h).allSatisfy { $0 == 0 })
    }
}
