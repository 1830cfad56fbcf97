import ArgumentParser
import Foundation
import RelBERT

/// `relbert bench train`: one training step of 96 sequences (32 triplets, template a, triplet loss,
/// forward + backward + AdamW), repeated.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput: sequences/s of forward + backward + AdamW (32 triplets, template a).")

    @Option(help: "Model folder (Hugging Face layout).")
    var model: String = "models/all-MiniLM-L6-v2"

    @Option(help: "Threads. Default: every core.")
    var threads: Int?

    @Option(help: "How long to measure, in seconds.")
    var seconds: Double = 20

    @Option(name: .customLong("pytorch-python"), help: "A python with torch: measure PyTorch on the same step in this run.")
    var pytorchPython: String?

    @Flag(help: "One JSON object instead of text.")
    var json = false

    /// The benchmark's word pairs: 64 synthetic pairs then the first 32 reversed.
    static var pairs: [WordPair] {
        let pairs = SyntheticPairs.make()
        return Array(pairs[0 ..< 64]) + pairs[0 ..< 32].map(\.reversed)
    }

    /// The benchmark step: 96 sequences (template a), 32 triplets (anchor i, positive i+32, negative i+64).
    static func step(for model: PretrainedModel) throws -> StepBatch {
        let embedder = try RelationEmbedder(model: model, template: PromptTemplate("a"), pooling: .averageNoMask)
        let sequences = try pairs.map { try embedder.tokenize($0) }
        let triplets = (0 ..< 32).map { StepBatch.TripletRows(anchor: $0, positive: $0 + 32, negative: $0 + 64) }
        return StepBatch(sequences: sequences, objective: .triplet(triplets: triplets, margin: 1))
    }

    func run() throws {
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let loaded = try PretrainedModel.load(from: URL(fileURLWithPath: model))
        let batch = try Self.step(for: loaded)
        let sequences = batch.sequences
        let sequencePairs = Self.pairs
        var settings = LocalTrainer.Settings()
        settings.threads = threadCount
        let trainer = LocalTrainer(model: loaded, pooling: .averageNoMask, optimizer: AdamW.Settings(), settings: settings)

        _ = try trainer.train(batch, step: 0, learningRate: 1e-5)   // warm-up
        let clock = ContinuousClock()
        let start = clock.now
        var steps = 0
        var elapsed = 0.0
        repeat {
            _ = try trainer.train(batch, step: steps + 1, learningRate: 1e-5)
            steps += 1
            elapsed = (clock.now - start).secondsValue
        } while elapsed < seconds
        let sequencesPerSecond = Double(steps * sequences.count) / elapsed
        let tokens = Double(sequences.reduce(0) { $0 + $1.count }) / Double(sequences.count)
        // Forward + backward ≈ 3× the forward FLOPs.
        let achieved = sequencesPerSecond * tokens * 3 * FlopCount.forwardPerToken(loaded.config, sequenceLength: tokens) / 1e9
        let rows = max(1, Int(tokens * Double(sequences.count) / Double(threadCount)))
        let ceiling = SgemmCeiling.measure(config: loaded.config, threads: threadCount, rows: rows)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakMB = Double(usage.ru_maxrss) / 1024
        let reference = PyTorchReference.training(threads: threadCount, python: pytorchPython, seconds: seconds,
                                                  pairs: sequencePairs, modelDirectory: model)
        var fields: [(String, String)] = [
            ("benchmark", JSONText.string("train")),
            ("sequences_per_s", JSONText.number((sequencesPerSecond * 10).rounded() / 10)),
            ("threads", "\(threadCount)"),
            ("steps", "\(steps)"),
            ("sequences_per_step", "\(sequences.count)"),
            ("mean_tokens", JSONText.number((tokens * 100).rounded() / 100)),
            ("peak_rss_mb", JSONText.number(peakMB.rounded())),
            ("model_gflops", JSONText.number((achieved * 10).rounded() / 10)),
            ("sgemm_gflops", JSONText.number((ceiling * 10).rounded() / 10)),
            ("fraction_of_sgemm", JSONText.number((achieved / ceiling * 1000).rounded() / 1000)),
        ]
        if let reference {
            fields += [("pytorch_sequences_per_s", JSONText.number((reference.pairsPerSecond * 10).rounded() / 10)),
                       ("pytorch_source", JSONText.string(reference.source)),
                       ("ratio_vs_pytorch", JSONText.number((sequencesPerSecond / reference.pairsPerSecond * 1000).rounded() / 1000))]
        }
        if json {
            print(JSONText.object(fields))
        } else {
            print(String(format: "train: %.1f sequences/s on %d thread(s) (%d steps of %d), peak RSS %.0f MB",
                         sequencesPerSecond, threadCount, steps, sequences.count, peakMB))
            print(String(format: "       %.1f GFLOP/s of model work; sgemm ceiling %.1f GFLOP/s: %.0f%%",
                         achieved, ceiling, achieved / ceiling * 100))
            if let reference {
                print(String(format: "       PyTorch (%@): %.1f sequences/s; ratio %.2fx", reference.source,
                             reference.pairsPerSecond, sequencesPerSecond / reference.pairsPerSecond))
            }
        }
    }
}
