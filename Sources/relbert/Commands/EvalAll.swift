import ArgumentParser
import Foundation
import RelBERT

extension Eval {
    struct All: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every evaluation on one model, and a report: results.json, report.md and SVG plots.",
            discussion: """
            Analogy questions (every bundled set, test and validation splits, forward, reverse and \
            bidirection), lexical relation classification (five sets) and relation mapping, from one \
            embedding pass through the cache under --cache-dir. The figures are those the individual \
            commands print. report.md puts them beside the published ones (--references) and shows \
            plots of accuracy per dataset and, when the model's train_log.jsonl is found, its training \
            loss.
            """)

        @OptionGroup var options: ModelOptions
        @Option(help: "Where to write results.json, report.md and the plots.") var output: String
        @Option(name: .customLong("data-dir"), help: "Where the bundled data lives.") var dataDirectory = "data"
        @Option(name: .customLong("cache-dir"), help: "Embedding cache (shared with the other eval commands).") var cacheDirectory = "runs/cache"
        @Option(name: .customLong("classify-dataset"), help: "A classification dataset (repeatable). Default: all five; 'none' to skip.")
        var classifyDatasets: [String] = []
        @Option(name: .customLong("max-epochs"), help: "Epoch cap of each classification MLP.") var maxEpochs = 200
        @Option(help: "Published figures to compare with. Default: DATA-DIR/reference_figures.json.") var references: String?
        @Option(name: .customLong("training-log"), help: "The model's train_log.jsonl. Default: MODEL/train_log.jsonl or MODEL/../train_log.jsonl, if present.")
        var trainingLog: String?

        func validate() throws {
            guard maxEpochs > 0 else { throw ValidationError("--max-epochs must be positive") }
            for name in classifyDatasets where name != "none" && !LexicalDataset.bundledNames.contains(name) {
                throw ValidationError("unknown classification dataset '\(name)': use \(LexicalDataset.bundledNames.joined(separator: ", ")) or none")
            }
        }

        func run() throws {
            let data = URL(fileURLWithPath: dataDirectory)
            let referenceFigures = try ReferenceFigures.load(from: URL(fileURLWithPath: references ?? data.appendingPathComponent("reference_figures.json").path))
            let log = try trainingLogEntries()
            var suite = EvaluationSuite(dataDirectory: data)
            if classifyDatasets == ["none"] {
                suite.classificationDatasets = []
            } else if !classifyDatasets.isEmpty {
                suite.classificationDatasets = classifyDatasets
            }
            suite.classifier.maxEpochs = maxEpochs

            let embedder = try options.makeEmbedder()
            BLAS.setThreads(options.threadCount)
            var cache = EmbeddingCache(root: URL(fileURLWithPath: cacheDirectory), embedder: embedder)
            let results = try suite.run(embedder: embedder, modelPath: options.model, cache: &cache,
                                        batchSize: options.batchSize, progress: { Log.line($0) })
            let folder = URL(fileURLWithPath: output)
            let files = try EvaluationReport(results: results, references: referenceFigures, trainingLog: log).write(to: folder)
            var out = OutputStream()
            out.write(Self.summary(results))
            out.write("wrote " + files.map { folder.appendingPathComponent($0).path }.joined(separator: ", "))
            out.flush()
        }

        private func trainingLogEntries() throws -> [TrainingLog.Entry] {
            try Self.trainingLogEntries(explicit: trainingLog, model: options.model)
        }

        static func trainingLogEntries(explicit trainingLog: String?, model path: String) throws -> [TrainingLog.Entry] {
            if let trainingLog {
                let entries = TrainingLog.read(URL(fileURLWithPath: trainingLog))
                guard !entries.isEmpty else { throw ValidationError("no training log entries in \(trainingLog)") }
                return entries
            }
            let model = URL(fileURLWithPath: path)
            for candidate in [model.appendingPathComponent("train_log.jsonl"),
                              model.deletingLastPathComponent().appendingPathComponent("train_log.jsonl")] {
                let entries = TrainingLog.read(candidate)
                if !entries.isEmpty { return entries }
            }
            return []
        }

        /// The headline figures, one line per family, as the other eval commands print them.
        static func summary(_ r: EvaluationResults) -> String {
            let analogy = ["u2", "u4", "google", "bats"].map { "\($0) \(EvaluationReport.percent(r.analogyAccuracy($0)))" }
            var lines = ["analogy (test, forward, %): " + analogy.joined(separator: ", ")]
            if !r.classification.isEmpty {
                lines.append("classification (macro/micro F1, %): " + r.classification.map {
                    "\($0.dataset) \(EvaluationReport.percent($0.macroF1))/\(EvaluationReport.percent($0.microF1))"
                }.joined(separator: ", "))
            }
            if let m = r.mapping {
                lines.append(String(format: "relation mapping: %.1f%% of %d terms", m.accuracy * 100, m.terms))
            }
            lines.append(String(format: "%.0f s in all (embedding %.0f s for %d of %d prompts, classification %.0f s)",
                                r.timings.totalSeconds, r.timings.embeddingSeconds, r.timings.pairsEmbedded,
                                r.timings.distinctPairs, r.timings.classificationSeconds))
            return lines.joined(separator: "\n")
        }
    }
}

extension Eval {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write report.md and the plots again from an existing results.json (no evaluation is run).",
            discussion: "For new reference figures, or a report lost from its folder: the figures come from --results as they are.")

        @Option(help: "A results.json written by eval all.") var results: String
        @Option(help: "Where to write report.md, the plots and a copy of results.json.") var output: String
        @Option(help: "Published figures to compare with.") var references = "data/reference_figures.json"
        @Option(name: .customLong("training-log"), help: "The model's train_log.jsonl. Default: beside the model named in results.json, if present.")
        var trainingLog: String?

        func run() throws {
            let url = URL(fileURLWithPath: results)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ValidationError("cannot read \(results)")
            }
            let decoded: EvaluationResults
            do {
                decoded = try EvaluationResults.decode(data)
            } catch {
                throw ValidationError("\(results) is not a results.json written by eval all: \(error)")
            }
            let log = try Eval.All.trainingLogEntries(explicit: trainingLog, model: decoded.model.path)
            let folder = URL(fileURLWithPath: output)
            let files = try EvaluationReport(results: decoded, references: ReferenceFigures.load(from: URL(fileURLWithPath: references)),
                                             trainingLog: log).write(to: folder)
            var out = OutputStream()
            out.write(Eval.All.summary(decoded))
            out.write("wrote " + files.map { folder.appendingPathComponent($0).path }.joined(separator: ", "))
            out.flush()
        }
    }
}
