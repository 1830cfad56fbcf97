import Foundation
import RelBERT
@testable import RelBERTCluster
import RelBERTProtocol
import XCTest

/// `relbert prompt search --method ptuning` on the tiny RoBERTa: the model folder it writes is used,
/// unchanged, by `embed`, `eval`, cluster training and serving; a broken prompt file is refused with
/// its path named.
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

        // A truncated prompt file is refused with its path.
        let vectors = output.appendingPathComponent("prompt.safetensors")
        let bytes = try Data(contentsOf: vectors)
        try bytes.prefix(bytes.count - 8).write(to: vectors)
        let broken = try CLIRunner.run(["embed", "--model", output.path], stdin: Data("paris\tfrance\n".utf8))
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.stderr.contains("prompt.safetensors"), broken.stderr)
    }

    /// A continuous prompt on the cluster: fine-tuning with it on 2 workers writes exactly the bytes
    /// 2 threads write (the workers get the vectors in worker.Load), and the trained folder is served
    /// with the vectors `relbert embed` computes, for the model's own prompt, for `template: "learned"`
    /// and for a manual template.
    func testLearnedPromptTrainsOnTheClusterAndIsServed() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-cluster-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let searched = work.appendingPathComponent("searched")
        let search = try CLIRunner.run(["prompt", "search", "--method", "ptuning", "--model", tiny, "--output", searched.path,
                                        "--epochs", "1", "--before", "2", "--between", "1", "--after", "1", "--threads", "1"])
        XCTAssertEqual(search.status, 0, search.stderr)
        let job = ["train", "--model", searched.path, "--template", "learned", "--pooling", "average", "--epochs", "1",
                   "--lr", "1e-3", "--no-eval"]
        let cluster = work.appendingPathComponent("cluster"), local = work.appendingPathComponent("local")
        let onCluster = try CLIRunner.run(job + ["--workers", "2", "--output", cluster.path])
        XCTAssertEqual(onCluster.status, 0, onCluster.stderr)
        XCTAssertEqual(try CLIRunner.run(job + ["--threads", "2", "--output", local.path]).status, 0)
        let trained = cluster.appendingPathComponent("model")
        XCTAssertEqual(try Data(contentsOf: trained.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: local.appendingPathComponent("model/model.safetensors")),
                       "2 workers vs 2 threads with a learned prompt")
        XCTAssertEqual(try TrainingLog.losses(cluster), try TrainingLog.losses(local))
        let model = try PretrainedModel.load(from: trained)
        let prompt = try XCTUnwrap(model.prompt)
        XCTAssertEqual(prompt, try PretrainedModel.load(from: searched).prompt)

        // Served: one worker of the server's own.
        let state = work.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let services = try LocalServices(state: state)
        defer { services.stopAll() }
        try services.startCoordinator(["--model", trained.path, "--index", "none"], command: "serve")
        _ = try services.startWorker()
        let healthy = try ServeCommandTests.waitUntilHealthy(services)
        XCTAssertLessThan(healthy.maxAbsDifference, 1e-5)
        let client = try ClusterClient(endpoint: services.endpoint)
        client.timeout = .seconds(5)
        client.retries = 0
        let pairs = [WordPair("paris", "france"), WordPair("puppy", "dog"), WordPair("hammer", "tool")]
        let learned = try RelationEmbedder(model: model, learnedPrompt: prompt, pooling: .average).embed(pairs)
        let manual = try RelationEmbedder(model: model, template: PromptTemplate("a"), pooling: .average).embed(pairs)
        for (template, expected) in [("", learned), ("learned", learned), ("a", manual)] {
            let reply = try client.call(Method.serveEmbed, ServeCommandTests.embedRequest(pairs, template: template, pooling: "average"))
            let (body, rows) = try ServeCommandTests.vectors(reply)
            XCTAssertEqual(rows.count, pairs.count)
            for (i, row) in rows.enumerated() {
                XCTAssertLessThan(ServeCommandTests.maxDifference(row, expected.row(i)), 1e-5, "template '\(template)', \(pairs[i])")
            }
            if template.isEmpty { XCTAssertTrue(body.model.template.contains("ptuning 2/1/1"), body.model.template) }
        }
        XCTAssertNotEqual(learned.values, manual.values)
        // A learned prompt has no mask to pool at.
        XCTAssertThrowsError(try client.call(Method.serveEmbed, ServeCommandTests.embedRequest(pairs, pooling: "mask"))) { error in
            XCTAssertTrue("\(error)".contains("learned prompt"), "\(error)")
        }
    }

    static func vectors(_ folder: URL) throws -> [Float] {
        try XCTUnwrap(try PretrainedModel.load(from: folder).prompt).vectors
    }

    static func report(_ folder: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("prompt_search.json"))) as! [String: Any]
    }

    /// The search on the cluster computes what one process computes: with one worker the same bytes,
    /// with two the same up to float summation order (the shards' prompt gradients are summed); an
    /// AutoPrompt search picks the same triggers.
    func testPromptSearchOnLocalWorkersEqualsOneProcess() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-workers-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        func search(_ name: String, _ extra: [String], method: String = "ptuning") throws -> URL {
            let folder = work.appendingPathComponent(name)
            let result = try CLIRunner.run(["prompt", "search", "--method", method, "--model", tiny, "--output", folder.path,
                                            "--epochs", "2", "--iterations", "4", "--candidates", "8",
                                            "--before", "2", "--between", "1", "--after", "1"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            return folder
        }
        let local = try search("local", ["--threads", "1"])
        let one = try search("one", ["--workers", "1"])
        let two = try search("two", ["--workers", "2"])
        XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent("prompt.safetensors")),
                       try Data(contentsOf: local.appendingPathComponent("prompt.safetensors")), "1 worker vs 1 thread")
        let reference = try Self.vectors(local), shared = try Self.vectors(two)
        let scale = reference.map(abs).max()!
        XCTAssertNotEqual(reference, try Self.vectors(try search("untrained", ["--threads", "1", "--lr", "1e-9"])))
        for (a, b) in zip(shared, reference) { XCTAssertEqual(a, b, accuracy: 1e-4 * scale) }
        let localCurve = try XCTUnwrap(Self.report(local)["loss_per_step"] as? [Double])
        let twoCurve = try XCTUnwrap(Self.report(two)["loss_per_step"] as? [Double])
        XCTAssertEqual(localCurve.count, 20)
        for (a, b) in zip(twoCurve, localCurve) { XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b)) }
        XCTAssertEqual(try Self.report(two)["workers"] as? Int, 2)

        let autoLocal = try search("auto-local", ["--threads", "1"], method: "autoprompt")
        let autoTwo = try search("auto-two", ["--workers", "2"], method: "autoprompt")
        XCTAssertEqual(try PretrainedModel.load(from: autoTwo).prompt?.triggers, try PretrainedModel.load(from: autoLocal).prompt?.triggers)
    }

    /// Several shapes: each is searched and the one with the lowest validation loss is kept.
    func testShapeGridKeepsTheLowestValidationLoss() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-grid-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let result = try CLIRunner.run(["prompt", "search", "--model", tiny, "--output", work.path, "--epochs", "1",
                                        "--before", "1,2", "--between", "1", "--after", "0,1", "--threads", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try Self.report(work)
        let grid = try XCTUnwrap(report["grid"] as? [[String: Any]])
        XCTAssertEqual(grid.map { "\($0["before"]!)/\($0["between"]!)/\($0["after"]!)" }, ["1/1/0", "1/1/1", "2/1/0", "2/1/1"])
        let losses = grid.map { $0["validation_loss_after"] as! Double }
        let best = grid[losses.firstIndex(of: losses.min()!)!]
        let prompt = try XCTUnwrap(try PretrainedModel.load(from: work).prompt)
        XCTAssertEqual([prompt.shape.before, prompt.shape.between, prompt.shape.after],
                       [best["before"] as! Int, best["between"] as! Int, best["after"] as! Int])
        XCTAssertEqual(report["validation_loss_after"] as? Double, losses.min())
        XCTAssertTrue(result.stdout.contains("kept \(prompt.shape.description)"), result.stdout)
        let bad = try CLIRunner.run(["prompt", "search", "--model", tiny, "--output", work.path, "--before", "2,x"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--before"), bad.stderr)
    }

    /// `prompt search --coordinator` queues the search as a job of a running coordinator: a worker
    /// SIGKILLed mid-search costs nothing but time, `status` follows it, and `fetch` returns the model
    /// folder, whose prompt equals one process's up to float summation order.
    func testPromptSearchJobSurvivesAWorkerKilled() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-job-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let state = work.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let services = try LocalServices(state: state)
        defer { services.stopAll() }
        try services.startCoordinator()
        let workers = try (0 ..< 3).map { _ in try services.startWorker() }
        let flags = ["--model", tiny, "--epochs", "30", "--before", "2", "--between", "1", "--after", "1"]
        let submitted = try CLIRunner.run(["prompt", "search", "--coordinator", services.endpoint, "--idempotency-key", "k1"] + flags)
        XCTAssertEqual(submitted.status, 0, submitted.stderr)
        let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let again = try CLIRunner.run(["prompt", "search", "--coordinator", services.endpoint, "--idempotency-key", "k1"] + flags)
        XCTAssertEqual(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines), id, "a retried submit names the same job")
        try services.waitForStep(id, atLeast: 60)
        services.killWhileBusy(workers[1])
        let final = try services.waitForEnd(id)
        XCTAssertEqual(final["state"] as? String, "succeeded", "\(final)\n\(services.coordinatorLog())")
        XCTAssertEqual(final["step"] as? Int, 300)
        XCTAssertTrue(services.coordinatorLog().contains("prompt search, attempt 1: "), services.coordinatorLog())
        let fetched = work.appendingPathComponent("fetched")
        let fetch = try CLIRunner.run(["fetch", id, "--coordinator", services.endpoint, "--output", fetched.path])
        XCTAssertEqual(fetch.status, 0, fetch.stderr)
        let local = work.appendingPathComponent("local")
        XCTAssertEqual(try CLIRunner.run(["prompt", "search", "--output", local.path, "--threads", "1"] + flags).status, 0)
        let reference = try Self.vectors(local), shared = try Self.vectors(fetched)
        let scale = reference.map(abs).max()!
        for (a, b) in zip(shared, reference) { XCTAssertEqual(a, b, accuracy: 1e-3 * scale) }
        XCTAssertEqual(try Self.report(fetched)["method"] as? String, "ptuning")

        // As after a training job, the coordinator then serves the job's model, learned prompt and all.
        try ServeCommandTests.waitUntilHealthy(services)
        let served = try CLIRunner.run(["query", "embed", "--server", services.endpoint, "--format", "tsv", "paris", "france"])
        XCTAssertEqual(served.status, 0, served.stderr)
        let offline = try CLIRunner.run(["embed", "--model", fetched.path, "--format", "tsv"], stdin: Data("paris\tfrance\n".utf8))
        let a = ServeCommandTests.tsvVector(served.stdout), b = ServeCommandTests.tsvVector(offline.stdout)
        XCTAssertEqual(a.count, b.count)
        XCTAssertGreaterThan(a.count, 0)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
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
        // The server tokenizes with the triggers too (ordinary ids: the workers need nothing more).
        let served = try ServedModel(directory: work.appendingPathComponent("a"), generation: 1, jobID: nil)
        let (prompt, pooling) = try served.resolve(template: "", pooling: "")
        XCTAssertEqual(try served.tokenize(WordPair("paris", "france"), prompt: prompt, pooling: pooling), ids)
        XCTAssertThrowsError(try ServedModel(directory: URL(fileURLWithPath: tiny), generation: 1, jobID: nil)
            .resolve(template: "learned", pooling: ""))
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
