import Foundation
import RelBERT
import SafeTensors
import XCTest

/// The backward pass against PyTorch: the fixtures hold dLoss/dEmbedding of the InfoNCE loss
/// (`grad.nce.embeddings`) and the resulting gradients of a few parameters (`grad.nce.*`). Feeding the
/// former through our pooling and encoder backward must give the latter.
final class GradientParityTests: XCTestCase {
    func check(model directory: URL, fixture: String) throws {
        let model = try PretrainedModel.load(from: directory)
        let dir = TestPaths.fixtures.appendingPathComponent(fixture)
        let golden = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("golden.safetensors"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("golden.json"))) as! [String: Any]
        let pairs = (json["pairs"] as! [[String]]).map { WordPair($0[0], $0[1]) }
        let names = json["gradient_tensors"] as! [String]
        let embedder = try RelationEmbedder(model: model, template: PromptTemplate("d"), pooling: .averageNoMask)
        let batch = TokenBatch(sequences: try pairs.map { try embedder.tokenize($0) })
        let h = model.config.hiddenSize

        let activations = EncoderActivations(config: model.config, keepsAllLayers: true)
        model.encoder.forward(batch, activations: activations)
        let dEmbeddings = try golden.floats("grad.nce.embeddings")
        let dStates = FloatBuffer(count: batch.tokenCount * h)
        Pooling.averageNoMask.backward(batch: batch, dOut: dEmbeddings, maskTokenID: model.tokenizer.maskTokenID,
                                       hidden: h, dStates: dStates.pointer)
        let gradients = Parameters(layout: model.parameters.layout)
        model.encoder.backward(batch, activations: activations, dLastHidden: dStates.pointer,
                               gradients: gradients, workspace: BackwardWorkspace())

        for name in names {
            let tensor = try XCTUnwrap(model.parameters.layout.tensor(named: name), name)
            let ours = gradients.storage.array(tensor.range)
            var expected: [Float]
            if name == "embeddings.word_embeddings.weight" {
                // Sparse in the fixture: the rows of the tokens used, every other row must be zero.
                let rows = try golden.int32s("grad.nce.\(name).rows")
                let values = try golden.floats("grad.nce.\(name).values")
                expected = [Float](repeating: 0, count: tensor.count)
                for (r, row) in rows.enumerated() {
                    for i in 0 ..< h { expected[Int(row) * h + i] = values[r * h + i] }
                }
            } else if name == "embeddings.position_embeddings.weight" {
                expected = try golden.floats("grad.nce.\(name)")
                XCTAssertEqual(ours[expected.count...].allSatisfy { $0 == 0 }, true, "positions beyond 64 unused")
            } else {
                expected = try golden.floats("grad.nce.\(name)")
            }
            let largest = expected.map { abs($0) }.max() ?? 0
            XCTAssertGreaterThan(largest, 0, name)
            let worst = zip(ours, expected).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst / largest, 1e-3, "\(fixture) \(name)")
            print("gradient parity \(fixture) \(name): max error / largest = \(worst / largest)")
        }
    }

    func testMiniLMGradientsMatchPyTorch() throws {
        try check(model: TestPaths.defaultModel, fixture: "minilm")
    }

    func testTinyRobertaGradientsMatchPyTorch() throws {
        try check(model: TestPaths.tinyRoberta, fixture: "tiny-roberta")
    }
}
