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
            let vectors = try cache.lookup(pairs, embedder: embedder, batchSize: options.batchSize)
            var row: [WordPair: Int] = [:]
            for (i, pair) in pairs.enumerated() where row[pair] == nil { row[pair] = i }
            let results = RelationMapping.evaluate(loaded) { vectors.row(row[$0]!) }
            let seconds = Date().timeIntervalSince(started)
            let terms = results.reduce(0) { $0 + $1.mapping.count }
            let correct = results.reduce(0) { $0 + $1.correct }
            let meanOfProblems = results.map(\.accuracy).reduce(0, +) / Double(results.count)
            var out = OutputStream()
            if json {
                out.write(JSONText.object([
                    ("dataset", JSONText.string("relation_mapping")),
                    ("problems", "\(results.count)"), ("terms", "\(terms)"), ("correct", "\(correct)"),
                    ("accuracy", JSONText.number((Double(correct) / Double(terms) * 10000).rounded() / 10000)),
                    ("mean_problem_accuracy", JSONText.number((meanOfProblems * 10000).rounded() / 10000)),
                    ("per_problem", JSONText.object(results.map { ($0.id, JSONText.number(($0.accuracy * 10000).rounded() / 10000)) })),
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
                                 Double(correct) / Double(terms) * 100, terms, results.count, meanOfProblems * 100, seconds))
            }
            out.flush()
        }
    }
}
