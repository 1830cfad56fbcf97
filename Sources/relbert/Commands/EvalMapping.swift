import ArgumentParser
import Foundation
import RelBERT

extension Eval {
    struct Mapping: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Relation mapping: match the terms of two domains (20 problems) by relational similarity.",
            discussion: """
            For each problem, every permutation of the target terms is scored by the summed cosine of \
            the relation embeddings of corresponding ordered term pairs; the best is the answer. \
            Accuracy: the share of source terms mapped to their gold target, per problem and overall.
            """)

        @OptionGroup var options: ModelOptions
        @Option(help: "The problems (jsonl with id, source, target).") var problems = "data/relation_mapping/data.jsonl"
        @Option(name: .customLong("cache-dir"), help: "Embedding cache.") var cacheDirectory = "runs/cache"
        @Flag(help: "One JSON object instead of a table.") var json = false

        func run() throws {
            let loaded = try RelationMappingProblem.load(from: URL(fileURLWithPath: problems))
            let embedder = try options.makeEmbedder()
            let started = Date()
            var cache = EmbeddingCache(root: URL(fileURLWithPath: cacheDirectory), embedder: embedder)
            let pairs = loaded.flatMap(\.pairs)
            try cache.fill(pairs, embedder: embedder, batchSize: options.batchSize)
            let results = RelationMapping.evaluate(loaded) { cache.vector($0)! }
            let seconds = Date().timeIntervalSince(started)
            let record = EvaluationSuite.record(results)
            var out = OutputStream()
            if json {
                out.write(JSONText.object([
                    ("dataset", JSONText.string("relation_mapping")),
                    ("problems", "\(record.problems)"), ("terms", "\(record.terms)"), ("correct", "\(record.correct)"),
                    ("accuracy", JSONText.number(record.accuracy)),
                    ("mean_problem_accuracy", JSONText.number(record.meanProblemAccuracy)),
                    ("per_problem", JSONText.object(results.map { ($0.id, JSONText.number(record.perProblem[$0.id] ?? 0)) })),
                    ("template", JSONText.string(embedder.template.description)),
                    ("pooling", JSONText.string(embedder.pooling.rawValue)),
                    ("seconds", JSONText.number((seconds * 10).rounded() / 10)),
                ]))
            } else {
                out.write("model \(options.model), template \(embedder.template), pooling \(embedder.pooling.rawValue)")
                for (problem, result) in zip(loaded, results) {
                    let wrong = result.mapping.enumerated().filter { $0.offset != $0.element }
                        .map { "\(problem.source[$0.offset])→\(problem.target[$0.element])" }
                    out.write("\(problem.id)  \(result.correct)/\(result.mapping.count)" + (wrong.isEmpty ? "" : "  wrong: " + wrong.joined(separator: ", ")))
                }
                out.write(String(format: "accuracy %.1f%% of %d terms (mean over %d problems %.1f%%), %.1f s",
                                 record.accuracy * 100, record.terms, record.problems, record.meanProblemAccuracy * 100, seconds))
            }
            out.flush()
        }
    }
}
