import Foundation
import RelBERT
@testable import RelBERTCluster
import XCTest

/// `relbert prompt search --method ptuning` on the tiny RoBERTa: the model folder it writes is used,
/// unchanged, by `embed` and `eval`; a broken prompt file is refused with its path named; serving
/// refuses a learned prompt plainly (not built yet).
final class PromptSearchCommandTests: XCTestCase {
    let tiny = CLIRunner.root.appendingPathComponent("Tests/Fixtures/tiny-roberta").path

    func testPTuningWritesAModelThatEmbedAndEvalUse() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let output = work.appendingPathComponent("model")
        let search = try CLIRunner.run(["prompt", "search", "--method", "ptuning", "--model", tiny, "--output", output.path,
                                        "--epochs", "1", "--before", "2", "--between", "1", "--after", "1", "--threads", "1"])
        XCTAssertEqual(search.status, 0, search.stderr)
        XCTAssertTrue(search.stdout.contains("learned 2/1/1"), search.stdout)
        for file in ["prompt.json", "prompt.safetensors", "prompt_search.json", "model.safetensors", "config.json", "vocab.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(file).path), file)
        }
        let model = try PretrainedModel.load(from: output)
        let prompt = try XCTUnwrap(model.prompt)
        XCTAssertEqual(prompt.kind, .continuous)
        XCTAssertEqual(prompt.vectors.count, 4 * model.config.hiddenSize)
        XCTAssertEqual(model.config.relbert?.aggregationMode, "average")
        // The base weights are copied unchanged.
        XCTAssertEqual(try Data(contentsOf: output.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: tiny).appendingPathComponent("model.safetensors")))

        // embed uses the prompt: the vector equals the library's, and differs from the base model's template d.
        let embedded = try CLIRunner.run(["embed", "--model", output.path, "--format", "jsonl"], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(embedded.lines[0].utf8)) as! [String: Any]
        let vector = try XCTUnwrap(object["embedding"] as? [Double]).map(Float.init)
        let embedder = try RelationEmbedder(model: model, learnedPrompt: prompt, pooling: .average)
        let expected = try embedder.embed([WordPair("paris", "france")]).values
        XCTAssertEqual(vector.count, expected.count)
        for (a, b) in zip(vector, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let base = try CLIRunner.run(["embed", "--model", tiny, "--format", "jsonl"], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertNotEqual(base.lines.first, embedded.lines.first)

        let eval = try CLIRunner.run(["eval", "analogy", "--model", output.path, "--json", "--cache-dir", work.appendingPathComponent("cache").path,
                                      "--dataset", "data/analogy_questions/u2/test.jsonl"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertTrue(eval.lines[0].contains("ptuning 2/1/1"), eval.lines[0])

        // Fine-tuning with the learned prompt: the trained folder keeps it, and embed uses it.
        let trained = work.appendingPathComponent("trained")
        let train = try CLIRunner.run(["train", "--model", output.path, "--template", "learned", "--pooling", "average",
                                       "--epochs", "1", "--threads", "2", "--no-eval", "--output", trained.path])
        XCTAssertEqual(train.status, 0, train.stderr)
        let tuned = try PretrainedModel.load(from: trained.appendingPathComponent("model"))
        XCTAssertEqual(tuned.prompt, prompt)
        XCTAssertNotEqual(tuned.parameters.storage.array(), model.parameters.storage.array(), "the language model was fine-tuned")
        let tunedEmbedding = try CLIRunner.run(["embed", "--model", trained.appendingPathComponent("model").path], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertEqual(tunedEmbedding.status, 0, tunedEmbedding.stderr)
        let noPrompt = try CLIRunner.run(["train", "--model", tiny, "--template", "learned", "--pooling", "average", "--epochs", "1",
                                          "--no-eval", "--output", work.appendingPathComponent("never").path])
        XCTAssertNotEqual(noPrompt.status, 0)
        XCTAssertTrue(noPrompt.stderr.contains("needs a model folder with a learned prompt"), noPrompt.stderr)

        // Serving says plainly that it cannot serve a learned prompt yet.
        XCTAssertThrowsError(try ServedModel(directory: output, generation: 1, jobID: nil)) { error in
            XCTAssertTrue("\(error)".contains("learned prompt"), "\(error)")
        }

        // A truncated prompt file is refused with its path.
        let vectors = output.appendingPathComponent("prompt.safetensors")
        let bytes = try Data(contentsOf: vectors)
        try bytes.prefix(bytes.count - 8).write(to: vectors)
        let broken = try CLIRunner.run(["embed", "--model", output.path], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.stderr.contains("prompt.safetensors"), broken.stderr)
    }

    func testAutoPromptWritesTokensThatEmbedUses() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("autoprompt-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        func search(_ name: String) throws -> CLIRunner.Result {
            try CLIRunner.run(["prompt", "search", "--method", "autoprompt", "--model", tiny, "--output", work.appendingPathComponent(name).path,
                               "--before", "2", "--between", "1", "--after", "1", "--iterations", "4", "--candidates", "8", "--threads", "1"])
        }
        let first = try search("a"), second = try search("b")
        XCTAssertEqual(first.status, 0, first.stderr)
        let a = try XCTUnwrap(try PretrainedModel.load(from: work.appendingPathComponent("a")).prompt)
        let b = try XCTUnwrap(try PretrainedModel.load(from: work.appendingPathComponent("b")).prompt)
        XCTAssertEqual(a.kind, .discrete)
        XCTAssertEqual(a.triggers, b.triggers, "the search is deterministic for a seed")
        XCTAssertEqual(second.status, 0, second.stderr)
        let model = try PretrainedModel.load(from: URL(fileURLWithPath: tiny))
        XCTAssertNotEqual(a.triggers, [Int32](repeating: model.tokenizer.maskTokenID, count: 4), "at least one trigger changed")
        XCTAssertTrue(a.triggers.allSatisfy { !model.tokenizer.specialTokenIDs.contains($0) || $0 == model.tokenizer.maskTokenID })
        // The report's loss falls with every accepted update.
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("a/prompt_search.json"))) as! [String: Any]
        let curve = try XCTUnwrap(report["loss_after_each_update"] as? [Double])
        XCTAssertGreaterThan(curve.count, 1)
        for (x, y) in zip(curve, curve.dropFirst()) { XCTAssertLessThan(y, x) }
        // embed uses the trigger tokens, which are ordinary vocabulary ids.
        let embedded = try CLIRunner.run(["embed", "--model", work.appendingPathComponent("a").path], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        let ids = try a.tokenize(WordPair("paris", "france"), tokenizer: model.tokenizer, vocabulary: model.config.vocabSize, maxLength: 64)
        XCTAssertTrue(ids.allSatisfy { Int($0) < model.config.vocabSize }, "a discrete prompt is ordinary tokens")
        XCTAssertGreaterThanOrEqual(ids.filter { a.triggers.contains($0) }.count, 4)
    }

    func testBadPromptFilesAreRefused() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("badprompt-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.copyItem(at: URL(fileURLWithPath: tiny), to: work)
        try Data(#"{"method": "autoprompt", "kind": "discrete", "before": 1, "between": 1, "after": 1, "triggers": [1, 2, 999999]}"#.utf8)
            .write(to: work.appendingPathComponent("prompt.json"))
        let result = try CLIRunner.run(["embed", "--model", work.path], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("prompt.json") && result.stderr.contains("trigger ids"), result.stderr)
    }
}
