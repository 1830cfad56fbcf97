import Foundation
import RelBERT
import SafeTensors
import XCTest

/// Every tensor the fixtures hold, compared with what our encoder computes (golden outputs made with
/// PyTorch/transformers in float32; see Tests/Fixtures/README.md).
final class EncoderParityTests: XCTestCase {
    struct Golden {
        let file: SafeTensorsFile
        let pairs: [WordPair]

        init(_ folder: String) throws {
            let dir = TestPaths.fixtures.appendingPathComponent(folder)
            file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("golden.safetensors"))
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("golden.json"))) as! [String: Any]
            pairs = (json["pairs"] as! [[String]]).map { WordPair($0[0], $0[1]) }
        }

        func ids(_ template: String) throws -> (ids: [Int32], mask: [Int32], rows: Int, columns: Int) {
            let info = try XCTUnwrap(file.info("template_\(template).input_ids"))
            return (try file.int32s("template_\(template).input_ids"),
                    try file.int32s("template_\(template).attention_mask"), info.shape[0], info.shape[1])
        }
    }

    func check(model modelDirectory: URL, fixture: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try PretrainedModel.load(from: modelDirectory)
        let golden = try Golden(fixture)
        let h = model.config.hiddenSize
        for template in ["a", "d"] {
            let embedder = try RelationEmbedder(model: model, template: PromptTemplate(template), pooling: .averageNoMask)
            let reference = try golden.ids(template)
            // Token ids, through the prompt template and the tokenizer.
            var sequences: [[Int32]] = []
            for (row, pair) in golden.pairs.enumerated() {
                let ids = try embedder.tokenize(pair)
                let length = Int(reference.mask[row * reference.columns ..< (row + 1) * reference.columns].reduce(0, +))
                XCTAssertEqual(ids, Array(reference.ids[row * reference.columns ..< row * reference.columns + length]),
                               "template \(template), pair \(pair)", file: file, line: line)
                sequences.append(ids)
            }
            // Hidden states after the first and the last layer, on every real token.
            let batch = TokenBatch(sequences: sequences)
            let activations = EncoderActivations(config: model.config, keepsAllLayers: true)
            model.encoder.forward(batch, activations: activations)
            let first = try golden.file.floats("template_\(template).hidden_state_1")
            let last = try golden.file.floats("template_\(template).last_hidden_state")
            var worstFirst: Float = 0, worstLast: Float = 0
            for s in 0 ..< batch.sequenceCount {
                for t in 0 ..< batch.length(of: s) {
                    for i in 0 ..< h {
                        let ours = (batch.starts[s] + t) * h + i
                        let theirs = (s * reference.columns + t) * h + i
                        worstFirst = max(worstFirst, abs(activations.layer(0).output.pointer[ours] - first[theirs]))
                        worstLast = max(worstLast, abs(activations.lastHiddenState.pointer[ours] - last[theirs]))
                    }
                }
            }
            XCTAssertLessThan(worstFirst, 1e-4, "\(fixture) template \(template) hidden_state_1", file: file, line: line)
            XCTAssertLessThan(worstLast, 1e-4, "\(fixture) template \(template) last_hidden_state", file: file, line: line)
            // Relation embeddings (average_no_mask), through the public embedding path, on two threads.
            let threaded = try RelationEmbedder(model: model, template: PromptTemplate(template), pooling: .averageNoMask, threads: 2)
            let embeddings = try threaded.embed(golden.pairs, batchSize: 5)
            let expected = try golden.file.floats("template_\(template).embeddings")
            let worst = zip(embeddings.values, expected).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-4, "\(fixture) template \(template) embeddings", file: file, line: line)
            print("parity \(fixture) template \(template): hidden_state_1 \(worstFirst), last_hidden_state \(worstLast), embeddings \(worst)")
        }
    }

    func testMiniLMMatchesPyTorch() throws {
        try check(model: TestPaths.defaultModel, fixture: "minilm")
    }

    func testTinyRobertaMatchesPyTorch() throws {
        try check(model: TestPaths.tinyRoberta, fixture: "tiny-roberta")
    }

    func testTruncatedPromptIsCutAt64Tokens() throws {
        let model = try PretrainedModel.load(from: TestPaths.tinyRoberta)
        let embedder = try RelationEmbedder(model: model, template: PromptTemplate("d"), pooling: .averageNoMask)
        let long = WordPair(String(repeating: "antidisestablishmentarianism ", count: 10), "cat")
        let ids = try embedder.tokenize(long)
        XCTAssertEqual(ids.count, 64)
        XCTAssertEqual(ids.last, model.tokenizer.endTokenID)
    }
}
