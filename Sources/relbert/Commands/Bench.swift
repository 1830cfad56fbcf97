import ArgumentParser
import Foundation
import RelBERT

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed (release builds only give meaningful figures).",
        subcommands: [EmbedBench.self, TrainBench.self, ClusterBench.self, ServeBench.self])
}

/// `relbert bench embed`: relation-embedding throughput on synthetic pairs with template a.
struct EmbedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Pairs per second of relation embedding (tokenize + encoder + pooling), template a.")

    @OptionGroup var options: ModelOptions

    @Option(help: "How long to measure, in seconds.")
    var seconds: Double = 10

    @Option(help: "A head<TAB>tail file of pairs to cycle through instead of the built-in synthetic pairs.")
    var pairs: String?

    @Flag(name: .customLong("list-pairs"), help: "Print the benchmark's pairs (head<TAB>tail) and exit, e.g. for the PyTorch script.")
    var listPairs = false

    @Option(name: .customLong("pytorch-python"),
            help: "A python with torch and transformers: measure PyTorch on the same pairs in this run (scripts/bench_pytorch.py).")
    var pytorchPython: String?

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func run() throws {
        let benchPairs = try pairs.map { try PairReader.parse(try InputSource.read($0), source: $0) } ?? SyntheticPairs.make()
        if listPairs {
            var out = OutputStream()
            for pair in benchPairs { out.write("\(pair.head)\t\(pair.tail)") }
            out.flush()
            return
        }
        var options = self.options
        if options.template == nil { options.template = "a" }
        let embedder = try options.makeEmbedder()
        let threads = options.threadCount
        let batchSize = options.batchSize

        // One batch = batchSize pairs, cycling through the pair list.
        let batches: [[WordPair]] = (0 ..< max(1, benchPairs.count / batchSize)).map { b in
            (0 ..< batchSize).map { benchPairs[(b * batchSize + $0) % benchPairs.count] }
        }
        let tokenCounts = try benchPairs.map { try embedder.tokenize($0).count }
        let meanTokens = Double(tokenCounts.reduce(0, +)) / Double(tokenCounts.count)
        let paddedTokens = Double(tokenCounts.max() ?? 0)

        _ = try embedder.embed(batches[0], batchSize: batchSize)   // warm-up
        var done = 0
        var batchIndex = 0
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed: Double = 0
        repeat {
            _ = try embedder.embed(batches[batchIndex % batches.count], batchSize: batchSize)
            batchIndex += 1
            done += batchSize
            elapsed = (clock.now - start).secondsValue
        } while elapsed < seconds
        let pairsPerSecond = Double(done) / elapsed

        let flopsPerToken = FlopCount.forwardPerToken(embedder.model.config, sequenceLength: meanTokens)
        let achievedGflops = pairsPerSecond * meanTokens * flopsPerToken / 1e9
        let rowsPerThread = max(1, Int(meanTokens * Double(batchSize) / Double(threads)))
        let ceiling = SgemmCeiling.measure(config: embedder.model.config, threads: threads, rows: rowsPerThread)

        let reference = PyTorchReference.inference(threads: threads, batchSize: batchSize,
                                                   pairs: benchPairs, python: pytorchPython, seconds: seconds,
                                                   modelDirectory: options.model)
        var fields: [(String, String)] = [
            ("benchmark", JSONText.string("embed")),
            ("pairs_per_s", JSONText.number((pairsPerSecond * 10).rounded() / 10)),
            ("threads", "\(threads)"),
            ("batch_size", "\(batchSize)"),
            ("seconds", JSONText.number((elapsed * 100).rounded() / 100)),
            ("pairs", "\(done)"),
            ("mean_tokens", JSONText.number((meanTokens * 100).rounded() / 100)),
            ("padded_tokens", JSONText.number(paddedTokens)),
            ("model_gflops", JSONText.number((achievedGflops * 10).rounded() / 10)),
            ("sgemm_gflops", JSONText.number((ceiling * 10).rounded() / 10)),
            ("fraction_of_sgemm", JSONText.number((achievedGflops / ceiling * 1000).rounded() / 1000)),
        ]
        if let reference {
            fields += [("pytorch_pairs_per_s", JSONText.number((reference.pairsPerSecond * 10).rounded() / 10)),
                       ("pytorch_source", JSONText.string(reference.source)),
                       ("ratio_vs_pytorch", JSONText.number((pairsPerSecond / reference.pairsPerSecond * 1000).rounded() / 1000))]
        }
        var out = OutputStream()
        if json {
            out.write(JSONText.object(fields))
        } else {
            out.write(String(format: "embed: %.1f pairs/s on %d thread(s), batch %d, %.1f tokens/pair (%.0f padded)",
                             pairsPerSecond, threads, batchSize, meanTokens, paddedTokens))
            out.write(String(format: "       %.1f GFLOP/s of model work; sgemm ceiling %.1f GFLOP/s here: %.0f%%",
                             achievedGflops, ceiling, achievedGflops / ceiling * 100))
            if let reference {
                out.write(String(format: "       PyTorch (%@): %.1f pairs/s; ratio %.2fx",
                                 reference.source, reference.pairsPerSecond, pairsPerSecond / reference.pairsPerSecond))
            } else {
                out.write("       no PyTorch reference for \(threads) thread(s)")
            }
        }
        out.flush()
    }
}
