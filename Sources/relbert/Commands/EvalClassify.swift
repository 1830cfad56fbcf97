import ArgumentParser
import Foundation
import RelBERT

extension Eval {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lexical relation classification: an MLP on the frozen model's relation embeddings (BLESS, CogALexV, EVALution, K&H+N, ROOT09).",
            discussion: """
            Features of a pair (h, t): the embeddings of (h, t) and (t, h), concatenated. The MLP (one \
            ReLU layer, Adam, L2 1e-4, up to 200 epochs, stopping as scikit-learn's MLPClassifier) is \
            trained for hidden 100/150/200 × learning rate 1e-3/1e-4/1e-5 and the best on validation \
            macro-F1 is scored on test (CogALexV: 100, 1e-3). Embeddings are cached by model, template \
            and pooling under --cache-dir.
            """)

        @OptionGroup var options: ModelOptions
        @Option(name: .customLong("dataset"), help: "A dataset name (repeatable). Default: all five.") var datasets: [String] = []
        @Option(name: .customLong("data-dir"), help: "Where the bundled data lives.") var dataDirectory = "data"
        @Option(name: .customLong("cache-dir"), help: "Embedding cache.") var cacheDirectory = "runs/cache"
        @Option(name: .customLong("max-epochs"), help: "Epoch cap of each MLP.") var maxEpochs = 200
        @Option(name: .customLong("export-features"), help: "Also write each dataset's features and labels as .npy files here (for comparing with scikit-learn).")
        var exportFeatures: String?
        @Flag(help: "One JSON object per dataset instead of a table.") var json = false

        func run() throws {
            let names = datasets.isEmpty ? LexicalDataset.bundledNames : datasets
            let root = URL(fileURLWithPath: dataDirectory).appendingPathComponent("lexical_relation_classification")
            let loaded = try names.map { try LexicalDataset.load(name: $0, directory: root) }
            let embedder = try options.makeEmbedder()
            let started = Date()
            var cache = EmbeddingCache(root: URL(fileURLWithPath: cacheDirectory), embedder: embedder)
            let pairs = loaded.flatMap(\.featurePairs)
            try cache.fill(pairs, embedder: embedder, batchSize: options.batchSize)
            let filled = cache
            let h = cache.dimension
            let embedSeconds = Date().timeIntervalSince(started)
            Log.line(String(format: "%d distinct pairs: %d embedded now, the rest from %@ (%.1f s)",
                            Set(pairs).count, cache.computed, cache.directory.path, embedSeconds))
            var evaluator = ClassificationEvaluator()
            evaluator.maxEpochs = maxEpochs
            BLAS.setThreads(options.threadCount)
            var out = OutputStream()
            if !json {
                out.write("model \(options.model), template \(embedder.template), pooling \(embedder.pooling.rawValue)")
                out.write(Self.pad("dataset", 11) + Self.pad("macro-F1", 10) + Self.pad("micro-F1", 10) + Self.pad("hidden", 8) + Self.pad("lr", 8) + Self.pad("val", 8) + "seconds")
            }
            for dataset in loaded {
                let vector = { (pair: WordPair) in filled.vector(pair)! }
                if let exportFeatures { try Self.export(dataset, to: URL(fileURLWithPath: exportFeatures), dimension: h, vector: vector) }
                let start = Date()
                let result = evaluator.evaluate(dataset, dimension: h, vector: vector)
                let record = EvaluationSuite.record(result, dataset: dataset, seconds: Date().timeIntervalSince(start))
                if json {
                    out.write(JSONText.object([
                        ("dataset", JSONText.string(record.dataset)),
                        ("macro_f1", JSONText.number(record.macroF1)),
                        ("micro_f1", JSONText.number(record.microF1)),
                        ("per_class_f1", JSONText.object(record.labels.map { ($0, JSONText.number(record.perClassF1[$0] ?? 0)) })),
                        ("hidden", "\(record.hidden)"),
                        ("learning_rate", JSONText.number(record.learningRate)),
                        ("validation_macro_f1", record.validationMacroF1.map { JSONText.number($0) } ?? "null"),
                        ("epochs", "\(record.epochs)"),
                        ("grid", "[" + record.grid.map { JSONText.object([("hidden", "\($0.hidden)"), ("learning_rate", JSONText.number($0.learningRate)), ("validation_macro_f1", JSONText.number($0.validationMacroF1))]) }.joined(separator: ",") + "]"),
                        ("train", "\(record.train)"), ("validation", "\(record.validation)"), ("test", "\(record.test)"),
                        ("seconds", JSONText.number(record.seconds)),
                        ("template", JSONText.string(embedder.template.description)),
                        ("pooling", JSONText.string(embedder.pooling.rawValue)),
                    ]))
                } else {
                    out.write(Self.pad(dataset.name, 11) + Self.pad(String(format: "%.1f", record.macroF1 * 100), 10)
                              + Self.pad(String(format: "%.1f", record.microF1 * 100), 10) + Self.pad("\(record.hidden)", 8)
                              + Self.pad(String(format: "%g", record.learningRate), 8)
                              + Self.pad(record.validationMacroF1.map { String(format: "%.1f", $0 * 100) } ?? "-", 8) + String(format: "%.0f", record.seconds))
                }
                out.flush()
            }
            out.flush()
        }

        static func pad(_ s: String, _ width: Int) -> String {
            s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
        }

        /// `NAME.{train,validation,test}.{x,y}.npy` and `NAME.labels.txt`.
        static func export(_ dataset: LexicalDataset, to folder: URL, dimension: Int, vector: (WordPair) -> ArraySlice<Float>) throws {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (split, examples) in [("train", dataset.train), ("validation", dataset.validation), ("test", dataset.test)] where !examples.isEmpty {
                let x = ClassificationEvaluator.features(examples, dimension: dimension, vector: vector)
                try NumpyFile.write(floats: x, shape: [examples.count, 2 * dimension], to: folder.appendingPathComponent("\(dataset.name).\(split).x.npy"))
                try NumpyFile.write(int32s: examples.map { Int32($0.label) }, to: folder.appendingPathComponent("\(dataset.name).\(split).y.npy"))
            }
            try dataset.labels.joined(separator: "\n").write(to: folder.appendingPathComponent("\(dataset.name).labels.txt"), atomically: true, encoding: .utf8)
        }
    }
}

/// The .npy format (version 1.0): magic, header length, a Python dict literal padded to 64 bytes, data.
enum NumpyFile {
    static func write(floats: [Float], shape: [Int], to url: URL) throws {
        let data = floats.withUnsafeBufferPointer { Data(buffer: $0) }
        try write(descr: "<f4", shape: shape, data: data, to: url)
    }

    static func write(int32s: [Int32], to url: URL) throws {
        let data = int32s.withUnsafeBufferPointer { Data(buffer: $0) }
        try write(descr: "<i4", shape: [int32s.count], data: data, to: url)
    }

    private static func write(descr: String, shape: [Int], data: Data, to url: URL) throws {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var file = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        file.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        file.append(contentsOf: Array(header.utf8))
        file.append(data)
        try file.write(to: url, options: .atomic)
    }
}
