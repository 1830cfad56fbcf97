import Foundation

/// Every evaluation of the paper on one model, from one embedding pass: analogy questions (every
/// bundled set, test and validation splits, three directions), lexical relation classification and
/// relation mapping. The distinct pairs of all of them are looked up in the ``EmbeddingCache`` once;
/// each family then scores from those vectors with the same code its own `eval` command runs.
public struct EvaluationSuite {
    public struct AnalogySet: Sendable, Equatable {
        public var dataset: String
        public var split: String
        public var url: URL

        public init(dataset: String, split: String, url: URL) {
            self.dataset = dataset
            self.split = split
            self.url = url
        }
    }

    /// Every analogy file shipped under `dataDirectory`: the four analogy question sets and the two
    /// relational similarity sets, test before valid.
    public static func bundledAnalogySets(dataDirectory: URL) -> [AnalogySet] {
        let questions = ["u2", "u4", "google", "bats"].map { ("analogy_questions/\($0)", $0) }
        let similarity = ["conceptnet_relational_similarity", "t_rex_relational_similarity"].map { ($0, $0) }
        return (questions + similarity).flatMap { folder, name in
            ["test", "valid"].map { split in
                AnalogySet(dataset: name, split: split,
                           url: dataDirectory.appendingPathComponent(folder).appendingPathComponent("\(split).jsonl"))
            }
        }
    }

    public var analogySets: [AnalogySet]
    public var directions: [AnalogyEvaluator.Direction] = AnalogyEvaluator.Direction.allCases
    /// Lexical relation classification datasets (names of ``LexicalDataset/bundledNames``).
    public var classificationDatasets: [String]
    public var classificationDirectory: URL
    public var classifier = ClassificationEvaluator()
    /// The relation mapping problems, or nil to skip them.
    public var mappingFile: URL?

    public init(dataDirectory: URL) {
        analogySets = Self.bundledAnalogySets(dataDirectory: dataDirectory)
        classificationDatasets = LexicalDataset.bundledNames
        classificationDirectory = dataDirectory.appendingPathComponent("lexical_relation_classification")
        mappingFile = dataDirectory.appendingPathComponent("relation_mapping/data.jsonl")
    }

    /// Runs everything. `progress` receives one line per finished part (for a log on stderr).
    public func run(embedder: RelationEmbedder, modelPath: String, cache: inout EmbeddingCache, batchSize: Int = 64,
                    progress: (String) -> Void = { _ in }) throws -> EvaluationResults {
        let started = Date()
        let analogyData = try analogySets.map { try AnalogyDataset.load(from: $0.url) }
        let lexical = try classificationDatasets.map { try LexicalDataset.load(name: $0, directory: classificationDirectory) }
        let mapping = try mappingFile.map { try RelationMappingProblem.load(from: $0) } ?? []

        // One fill for every pair of every family: the cache embeds only what it lacks.
        let needed: AnalogyEvaluator.Direction = directions == [.forward] ? .forward : directions == [.reverse] ? .reverse : .bidirection
        let analogyPairs = AnalogyEvaluator.pairs(of: analogyData, direction: needed)
        let pairs = analogyPairs + lexical.flatMap(\.featurePairs) + mapping.flatMap(\.pairs)
        try cache.fill(pairs, embedder: embedder, batchSize: batchSize)
        let filled = cache
        let vector = { (pair: WordPair) in filled.vector(pair)! }
        let distinct = Set(pairs).count
        let embeddingSeconds = Date().timeIntervalSince(started)
        progress(String(format: "%d distinct pairs, %d embedded now, the rest from the cache (%.1f s)",
                        distinct, cache.computed, embeddingSeconds))

        var clock = Date()
        var analogy: [EvaluationResults.Analogy] = []
        for direction in directions {
            let results = AnalogyEvaluator.score(analogyData, direction: direction, vector: vector)
            for (set, result) in zip(analogySets, results) {
                analogy.append(.init(dataset: set.dataset, split: set.split, direction: direction.rawValue,
                                     questions: result.questions, correct: result.correct,
                                     accuracy: EvaluationResults.rounded(result.accuracy)))
            }
        }
        let analogySeconds = Date().timeIntervalSince(clock)
        progress(String(format: "analogy: %d sets × %d directions (%.1f s)", analogySets.count, directions.count, analogySeconds))

        clock = Date()
        var classification: [EvaluationResults.Classification] = []
        for dataset in lexical {
            let start = Date()
            let result = classifier.evaluate(dataset, dimension: cache.dimension, vector: vector)
            let seconds = Date().timeIntervalSince(start)
            classification.append(Self.record(result, dataset: dataset, seconds: seconds))
            progress(String(format: "classification %@: macro-F1 %.1f (%.0f s)", dataset.name, result.test.macroF1 * 100, seconds))
        }
        let classificationSeconds = Date().timeIntervalSince(clock)

        clock = Date()
        var mappingRecord: EvaluationResults.Mapping?
        if !mapping.isEmpty {
            mappingRecord = Self.record(RelationMapping.evaluate(mapping, vector: vector))
        }
        let mappingSeconds = Date().timeIntervalSince(clock)

        let model = embedder.model
        let checksum = ParameterChecksum.of(model.parameters.pointer, count: model.parameters.layout.totalCount)
        let timings = EvaluationResults.Timings(
            distinctPairs: distinct, pairsEmbedded: cache.computed,
            embeddingSeconds: Self.tenths(embeddingSeconds), analogySeconds: Self.tenths(analogySeconds),
            classificationSeconds: Self.tenths(classificationSeconds), mappingSeconds: Self.tenths(mappingSeconds),
            totalSeconds: Self.tenths(Date().timeIntervalSince(started)), threads: embedder.threads)
        return EvaluationResults(
            model: .init(path: modelPath, checksum: String(format: "%016llx", checksum),
                         architecture: "\(model.config.modelType.rawValue), \(model.config.numHiddenLayers) layers, \(model.config.hiddenSize) wide",
                         template: embedder.template.description, pooling: embedder.pooling.rawValue, maxLength: embedder.maxLength),
            created: ISO8601DateFormatter().string(from: started),
            analogy: analogy, classification: classification, mapping: mappingRecord, timings: timings)
    }

    public static func record(_ result: ClassificationEvaluator.Result, dataset: LexicalDataset, seconds: Double) -> EvaluationResults.Classification {
        let round = EvaluationResults.rounded
        return .init(dataset: dataset.name, macroF1: round(result.test.macroF1), microF1: round(result.test.microF1),
                     perClassF1: Dictionary(uniqueKeysWithValues: zip(result.labels, result.test.perClassF1.map(round))),
                     labels: result.labels, hidden: result.hidden, learningRate: Double("\(result.learningRate)") ?? 0,
                     validationMacroF1: result.validationMacroF1.map(round), epochs: result.epochs,
                     grid: result.grid.map { .init(hidden: $0.hidden, learningRate: Double("\($0.learningRate)") ?? 0,
                                                   validationMacroF1: round($0.validationMacroF1)) },
                     train: dataset.train.count, validation: dataset.validation.count, test: dataset.test.count,
                     seconds: tenths(seconds))
    }

    public static func record(_ results: [RelationMapping.Result]) -> EvaluationResults.Mapping {
        let terms = results.reduce(0) { $0 + $1.mapping.count }
        let correct = results.reduce(0) { $0 + $1.correct }
        let mean = results.map(\.accuracy).reduce(0, +) / Double(max(results.count, 1))
        return .init(problems: results.count, terms: terms, correct: correct,
                     accuracy: EvaluationResults.rounded(Double(correct) / Double(max(terms, 1))),
                     meanProblemAccuracy: EvaluationResults.rounded(mean),
                     perProblem: Dictionary(uniqueKeysWithValues: results.map { ($0.id, EvaluationResults.rounded($0.accuracy)) }))
    }

    static func tenths(_ x: Double) -> Double { (x * 10).rounded() / 10 }
}
