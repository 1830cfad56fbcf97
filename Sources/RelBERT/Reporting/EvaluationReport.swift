import Foundation

/// The files `relbert eval all` writes: `results.json`, `report.md` (the model's figures beside the
/// published ones) and the SVG plots the report shows (`analogy.svg`, `classification.svg` and, when
/// the model's training log is found, `training.svg`).
public struct EvaluationReport {
    public let results: EvaluationResults
    public let references: ReferenceFigures
    public let trainingLog: [TrainingLog.Entry]

    /// The analogy sets with published figures, in the paper's column order.
    public static let paperAnalogySets = ["sat", "u2", "u4", "google", "bats"]
    public static let datasetTitles = ["sat": "SAT", "u2": "U2", "u4": "U4", "google": "Google", "bats": "BATS",
                                       "conceptnet_relational_similarity": "ConceptNet RS",
                                       "t_rex_relational_similarity": "T-REx RS"]

    public init(results: EvaluationResults, references: ReferenceFigures, trainingLog: [TrainingLog.Entry] = []) {
        self.results = results
        self.references = references
        self.trainingLog = trainingLog
    }

    /// Writes every file into `directory` (created if needed), each atomically. Returns the file names.
    @discardableResult
    public func write(to directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [(String, Data)] = [("results.json", try results.encoded())]
        files.append(("analogy.svg", Data(analogyChart().utf8)))
        if !results.classification.isEmpty { files.append(("classification.svg", Data(classificationChart().utf8))) }
        if !trainingLog.isEmpty { files.append(("training.svg", Data(trainingChart().utf8))) }
        files.append(("report.md", Data(markdown().utf8)))
        for (name, data) in files {
            try data.write(to: directory.appendingPathComponent(name), options: .atomic)
        }
        return files.map(\.0)
    }

    static func title(_ dataset: String) -> String { datasetTitles[dataset] ?? dataset }

    public static func percent(_ fraction: Double?) -> String {
        fraction.map { String(format: "%.1f", $0 * 100) } ?? "–"
    }

    static func percentFigure(_ value: Double?) -> String {
        value.map { String(format: "%.1f", $0) } ?? "–"
    }

    /// The reference rows drawn in the analogy chart: the paper, its roberta-base run, the PyTorch run
    /// of the same small model.
    static let chartedAnalogyReferences = ["paper", "roberta-base", "pytorch-minilm", "untrained-minilm"]

    // MARK: - charts

    public func analogyChart() -> String {
        let sets = Self.paperAnalogySets.filter { $0 != "sat" || results.analogyAccuracy($0) != nil }
        var series = [SVGChart.Series(name: "this model (\(results.model.template), \(results.model.pooling))",
                                      values: sets.map { results.analogyAccuracy($0).map { $0 * 100 } },
                                      color: SVGChart.palette[0])]
        for (i, key) in Self.chartedAnalogyReferences.enumerated() {
            guard let reference = references.analogy(key) else { continue }
            series.append(.init(name: reference.name, values: sets.map { reference.accuracy[$0] },
                                color: SVGChart.palette[(i + 1) % SVGChart.palette.count]))
        }
        return SVGChart.bars(title: "Analogy accuracy, test splits (%)", categories: sets.map(Self.title),
                             series: series, yLabel: "accuracy (%)", height: 440)
    }

    public func classificationChart() -> String {
        let names = results.classification.map(\.dataset)
        var series = [SVGChart.Series(name: "this model, macro-F1", values: results.classification.map { $0.macroF1 * 100 },
                                      color: SVGChart.palette[0])]
        for (i, reference) in references.classification.enumerated() {
            series.append(.init(name: reference.name + ", macro-F1", values: names.map { reference.macroF1[$0] },
                                color: SVGChart.palette[(i + 1) % SVGChart.palette.count]))
        }
        return SVGChart.bars(title: "Lexical relation classification, test macro-F1 (%)", categories: names,
                             series: series, yLabel: "macro-F1 (%)")
    }

    /// Loss per step (thin) and its mean over the last 20 steps (thick), epochs marked.
    public func trainingChart() -> String {
        let steps = trainingLog.map { Double($0.step) }
        let losses = trainingLog.map { Double($0.loss) }
        var smoothed: [Double?] = []
        var window: [Double] = []
        for loss in losses {
            window.append(loss)
            if window.count > 20 { window.removeFirst() }
            smoothed.append(window.reduce(0, +) / Double(window.count))
        }
        var markers: [(x: Double, label: String)] = []
        var epoch = 0
        for entry in trainingLog where entry.epoch != epoch {
            epoch = entry.epoch
            markers.append((Double(entry.step), "epoch \(epoch)"))
        }
        return SVGChart.lines(title: "Training loss", x: steps,
                              series: [.init(name: "loss per step", values: losses, color: "#9ecae1", strokeWidth: 1),
                                       .init(name: "mean of the last 20 steps", values: smoothed, color: SVGChart.palette[0], strokeWidth: 2.5)],
                              xLabel: "step", yLabel: "loss", markers: markers)
    }

    // MARK: - Markdown

    public func markdown() -> String {
        let r = results
        var md = "# Evaluation of `\(r.model.path)`\n\n"
        md += "- model: \(r.model.architecture); weights checksum `\(r.model.checksum)`\n"
        md += "- prompt: template `\(r.model.template)`, pooling `\(r.model.pooling)`, at most \(r.model.maxLength) tokens\n"
        md += String(format: "- evaluated %@ with %d thread(s) in %.0f s: %d distinct prompts, %d embedded in this run (%.0f s), the rest from the embedding cache\n",
                     r.created, r.timings.threads, r.timings.totalSeconds, r.timings.distinctPairs, r.timings.pairsEmbedded,
                     r.timings.embeddingSeconds)
        md += "- every figure below is in `results.json`; the individual commands (`relbert eval analogy | classify | mapping`) print the same\n\n"

        md += "## Analogy questions\n\n![analogy accuracy](analogy.svg)\n\n"
        md += "Test accuracy (%), forward direction (the cosine of the stem's and the candidate's embeddings), beside published figures. "
        md += "SAT is not shipped with the project (its distribution asks that it not be redistributed), so its column is empty for this model.\n\n"
        md += "| model | " + Self.paperAnalogySets.map(Self.title).joined(separator: " | ") + " |\n"
        md += "| --- |" + String(repeating: " ---: |", count: Self.paperAnalogySets.count) + "\n"
        md += "| **this model** | " + Self.paperAnalogySets.map { "**\(Self.percent(r.analogyAccuracy($0)))**" }.joined(separator: " | ") + " |\n"
        for reference in references.analogy {
            md += "| \(reference.name) | " + Self.paperAnalogySets.map { Self.percentFigure(reference.accuracy[$0]) }.joined(separator: " | ") + " |\n"
        }
        let directions = AnalogyEvaluator.Direction.allCases.map(\.rawValue).filter { d in r.analogy.contains { $0.direction == d } }
        var seen = Set<String>()
        let sets = r.analogy.filter { seen.insert("\($0.dataset)/\($0.split)").inserted }
        if !sets.isEmpty {
            md += "\nEvery bundled set and split, in each direction (bidirection = cos(forward) × cos(reverse)):\n\n"
            md += "| dataset | split | questions | " + directions.joined(separator: " | ") + " |\n"
            md += "| --- | --- | ---: |" + String(repeating: " ---: |", count: directions.count) + "\n"
            for set in sets {
                md += "| \(Self.title(set.dataset)) | \(set.split) | \(set.questions) | "
                md += directions.map { Self.percent(r.analogyAccuracy(set.dataset, split: set.split, direction: $0)) }.joined(separator: " | ") + " |\n"
            }
        }

        if !r.classification.isEmpty {
            let paper = references.classification("paper")
            md += "\n## Lexical relation classification\n\n![classification macro-F1](classification.svg)\n\n"
            md += "Test F1 (%) of an MLP on the frozen embeddings of (h, t) and (t, h); hidden size and learning rate chosen on validation macro-F1 "
            md += "(CogALexV has no validation split: 100 and 1e-3). Paper: \(paper?.name ?? "–").\n\n"
            md += "| dataset | macro-F1 | micro-F1 | paper macro | paper micro | hidden | learning rate | validation macro-F1 | epochs | seconds |\n"
            md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            for c in r.classification {
                md += "| \(c.dataset) | **\(Self.percent(c.macroF1))** | **\(Self.percent(c.microF1))** | "
                md += "\(Self.percentFigure(paper?.macroF1[c.dataset])) | \(Self.percentFigure(paper?.microF1[c.dataset])) | "
                md += "\(c.hidden) | \(String(format: "%g", c.learningRate)) | \(Self.percent(c.validationMacroF1)) | \(c.epochs) | \(String(format: "%.0f", c.seconds)) |\n"
            }
            md += "\nF1 per class (%), test split:\n\n"
            for c in r.classification {
                md += "- **\(c.dataset)**: " + c.labels.map { "\($0) \(Self.percent(c.perClassF1[$0]))" }.joined(separator: ", ") + "\n"
            }
        }

        if let m = r.mapping {
            md += "\n## Relation mapping\n\n"
            md += "Each of the \(m.problems) problems maps source terms to target terms by the permutation whose relation embeddings agree best. "
            md += String(format: "**%.1f%%** of %d terms mapped correctly (%d); mean over problems %.1f%%.\n\n",
                         m.accuracy * 100, m.terms, m.correct, m.meanProblemAccuracy * 100)
            md += "| problem | accuracy |\n| --- | ---: |\n"
            for id in m.perProblem.keys.sorted(by: { $0.localizedStandardCompare($1) == .orderedAscending }) {
                md += "| \(id) | \(Self.percent(m.perProblem[id])) |\n"
            }
        }

        if !trainingLog.isEmpty {
            let last = trainingLog[trainingLog.count - 1]
            let lastEpoch = trainingLog.filter { $0.epoch == last.epoch }
            let firstEpoch = trainingLog.filter { $0.epoch == trainingLog[0].epoch }
            func mean(_ e: [TrainingLog.Entry]) -> Double { e.map { Double($0.loss) }.reduce(0, +) / Double(max(e.count, 1)) }
            md += "\n## Training\n\n![training loss](training.svg)\n\n"
            md += String(format: "%d steps over %d epochs in %.0f s (%.1f sequences/s). Mean loss per step: %.2f in epoch %d, %.2f in epoch %d.\n",
                         last.step, last.epoch, last.seconds,
                         Double(trainingLog.reduce(0) { $0 + $1.sequences }) / max(last.seconds, 1e-9),
                         mean(firstEpoch), trainingLog[0].epoch, mean(lastEpoch), last.epoch)
        }

        let t = r.timings
        md += "\n## Time\n\n| part | seconds |\n| --- | ---: |\n"
        md += String(format: "| embedding (%d of %d prompts computed) | %.1f |\n", t.pairsEmbedded, t.distinctPairs, t.embeddingSeconds)
        md += String(format: "| analogy scoring | %.1f |\n| classification (MLP grids) | %.1f |\n| relation mapping | %.1f |\n| **total** | **%.1f** |\n",
                     t.analogySeconds, t.classificationSeconds, t.mappingSeconds, t.totalSeconds)
        return md
    }
}
