import ArgumentParser
import Foundation
import RelBERT

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate relation embeddings.",
        subcommands: [Analogy.self, Classify.self, Mapping.self, All.self, Report.self])
}

extension Eval {
    struct Analogy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Multiple-choice analogy accuracy (the candidate most similar to the stem wins).")

        @OptionGroup var options: ModelOptions

        @Option(name: .customLong("dataset"),
                help: "An analogy jsonl file (repeatable). Default: the bundled test splits (u2, u4, google, bats).")
        var datasets: [String] = []

        @Option(name: .customLong("data-dir"), help: "Where the bundled data lives.")
        var dataDirectory: String = "data"

        @Option(help: "forward, reverse or bidirection (cos(forward) × cos(reverse)).")
        var direction: AnalogyEvaluator.Direction = .forward

        @Option(name: .customLong("cache-dir"), help: "Embedding cache (shared with eval classify, mapping and all); 'none' to embed without it.")
        var cacheDirectory = "runs/cache"

        @Flag(help: "One JSON object per dataset instead of a table.")
        var json = false

        func run() throws {
            let paths = datasets.isEmpty
                ? ["u2", "u4", "google", "bats"].map { "\(dataDirectory)/analogy_questions/\($0)/test.jsonl" }
                : datasets
            let loaded = try paths.map { try AnalogyDataset.load(from: URL(fileURLWithPath: $0)) }
            let embedder = try options.makeEmbedder()
            let started = Date()
            let results: [AnalogyEvaluator.Result]
            if cacheDirectory == "none" {
                results = try AnalogyEvaluator(embedder: embedder, batchSize: options.batchSize, direction: direction).evaluate(loaded)
            } else {
                var cache = EmbeddingCache(root: URL(fileURLWithPath: cacheDirectory), embedder: embedder)
                let pairs = AnalogyEvaluator.pairs(of: loaded, direction: direction)
                try cache.fill(pairs, embedder: embedder, batchSize: options.batchSize)
                results = AnalogyEvaluator.score(loaded, direction: direction) { cache.vector($0)! }
            }
            let seconds = Date().timeIntervalSince(started)
            var out = OutputStream()
            if json {
                for (result, path) in zip(results, paths) {
                    out.write(JSONText.object([
                        ("dataset", JSONText.string(URL(fileURLWithPath: path).lastPathComponent)),
                        ("path", JSONText.string(path)),
                        ("name", JSONText.string(result.dataset)),
                        ("questions", "\(result.questions)"),
                        ("correct", "\(result.correct)"),
                        ("accuracy", JSONText.number(EvaluationResults.rounded(result.accuracy))),
                        ("template", JSONText.string(embedder.template.description)),
                        ("pooling", JSONText.string(embedder.pooling.rawValue)),
                        ("direction", JSONText.string(direction.rawValue)),
                    ]))
                }
            } else {
                out.write("model \(options.model), template \(embedder.template), pooling \(embedder.pooling.rawValue), direction \(direction.rawValue)")
                out.write(pad("dataset", 28) + pad("questions", 10) + "accuracy")
                for result in results {
                    out.write(pad(result.dataset, 28) + pad("\(result.questions)", 10)
                              + String(format: "%.1f%%", result.accuracy * 100))
                }
                out.write(String(format: "(%.1f s)", seconds))
            }
            out.flush()
        }

        private func pad(_ s: String, _ width: Int) -> String {
            s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
        }
    }
}

extension AnalogyEvaluator.Direction: ExpressibleByArgument {}
