import ArgumentParser
import Foundation
import RelBERT

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune relation embeddings on SemEval-2012 Task 2 (RelBERT): in this process, or with --workers N on a local cluster.")

    @OptionGroup var job: TrainingOptions

    @Option(help: "Output folder: the final model goes to OUTPUT/model, checkpoints to OUTPUT/checkpoint.")
    var output: String = "runs/relbert"

    @Option(help: "Threads (one shard of every step per thread). Default: every core.") var threads: Int?
    @Option(help: "Run on a local cluster of this many worker processes (one thread each) instead.") var workers: Int?
    @Flag(help: "Continue the run in --output from its last checkpoint.") var resume = false
    @Flag(name: .customLong("no-eval"), help: "Skip the validation and analogy evaluation at the end.") var noEval = false

    func run() throws {
        let c = try job.configuration()
        let reporter = ProgressReporter(total: 0)
        if let workers {
            guard threads == nil else { throw ValidationError("--threads and --workers exclude each other: each worker uses one thread") }
            guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
            try LocalCluster.train(options: job, configuration: c, output: output, workers: workers, resume: resume,
                                   reporter: reporter)
            if noEval { return }
            try Self.evaluate(model: URL(fileURLWithPath: output).appendingPathComponent("model"), data: job.data,
                              configuration: c, threads: ProcessInfo.processInfo.activeProcessorCount, reporter: reporter)
            return
        }
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let run = try TrainingRun(modelDirectory: URL(fileURLWithPath: job.model), dataDirectory: URL(fileURLWithPath: job.data),
                                  output: URL(fileURLWithPath: output), configuration: c, threads: threadCount, resume: resume)
        reporter.total = run.totalSteps
        if resume { reporter.line("resuming at step \(run.completedSteps) of \(run.totalSteps)") }
        reporter.line("training \(job.model) → \(output): \(c.loss.rawValue) loss, \(c.epochs) epoch(s), \(run.totalSteps) steps, template \(c.template), \(c.pooling), lr \(c.learningRate), \(threadCount) thread(s)")
        try run.run { reporter.report($0) }
        reporter.finish()
        reporter.line("model written to \(output)/model")
        if noEval { return }
        reporter.line(String(format: "validation loss %.4f", try run.validationLoss()))
        try Self.analogy(embedder: run.currentEmbedder, data: job.data, reporter: reporter)
    }

    /// Validation loss and analogy accuracy of a trained model folder.
    static func evaluate(model: URL, data: String, configuration c: TrainingConfiguration, threads: Int,
                         reporter: ProgressReporter) throws {
        let loaded = try PretrainedModel.load(from: model)
        guard let pooling = Pooling(rawValue: c.pooling) else { throw CLIError("unknown pooling \(c.pooling)") }
        let embedder: RelationEmbedder
        if c.template == TrainingConfiguration.learnedTemplate, let learned = loaded.prompt {
            embedder = try RelationEmbedder(model: loaded, learnedPrompt: learned, pooling: pooling, maxLength: c.maxLength, threads: threads)
        } else {
            embedder = try RelationEmbedder(model: loaded, template: PromptTemplate(c.template), pooling: pooling,
                                            maxLength: c.maxLength, threads: threads)
        }
        try analogy(embedder: embedder, data: data, reporter: reporter)
    }

    static func analogy(embedder: RelationEmbedder, data: String, reporter: ProgressReporter) throws {
        let datasets = try ["u2", "u4", "google", "bats"].map {
            try AnalogyDataset.load(from: URL(fileURLWithPath: "\(data)/analogy_questions/\($0)/test.jsonl"))
        }
        for result in try AnalogyEvaluator(embedder: embedder).evaluate(datasets) {
            reporter.line(String(format: "analogy %@: %.1f%% of %d", result.dataset, result.accuracy * 100, result.questions))
        }
    }
}

/// The options that define a training job: model, data and every hyper-parameter (shared by
/// `relbert train` and `relbert submit`).
struct TrainingOptions: ParsableArguments {
    @Option(help: "Base model folder (Hugging Face layout).")
    var model: String = "models/all-MiniLM-L6-v2"

    @Option(help: "Data folder holding semeval2012_task2/ and analogy_questions/.")
    var data: String = "data"

    @Option(help: "nce (InfoNCE, default) or triplet (the EMNLP 2021 paper).")
    var loss: TrainingConfiguration.Loss = .nce

    @Option var epochs: Int = 3
    @Option(name: .customLong("lr"), help: "Peak learning rate (default: the best measured, see docs/training.md).") var learningRate: Float = 5e-5
    @Option(help: "Linear warm-up steps.") var warmup: Int = 10
    @Option(help: "After warm-up: constant or linear (decay to 0).") var schedule: LearningRateSchedule.Shape = .constant
    @Option(help: "InfoNCE negatives per step.") var negatives: Int = 64
    @Option(help: "InfoNCE temperature.") var temperature: Float = 0.05
    @Option(help: "Triplet margin.") var margin: Float = 1
    @Option(name: .customLong("relations-per-batch"), help: "Triplet loss: relations per batch.") var relationsPerBatch: Int = 8
    @Option(name: .customLong("triplets-per-relation"), help: "Triplet loss: triplets per relation.") var tripletsPerRelation: Int = 4
    @Flag(name: .customLong("no-parent-triples"), help: "Triplet loss: leave out the parent-category triples.") var noParentTriples = false
    @Option(help: "Prompt template: a-e, a custom text, or 'learned' for the model folder's learned prompt (relbert prompt search) (default a: the best measured, see docs/training.md).") var template: String = "a"
    @Option(help: "mask (default: the best measured, see docs/training.md), average or average_no_mask.") var pooling: String = "mask"
    @Option var seed: UInt64 = 0
    @Option(help: "Hidden and attention dropout.") var dropout: Float = 0.1
    @Option(name: .customLong("weight-decay")) var weightDecay: Float = 0.01
    @Option(name: .customLong("clip"), help: "Clip the gradient norm to this.") var maxGradientNorm: Float?
    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.") var checkpointEvery: Int = 20

    func configuration() throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.loss = loss
        c.epochs = epochs
        c.learningRate = learningRate
        c.warmupSteps = warmup
        c.schedule = schedule
        c.negatives = negatives
        c.temperature = temperature
        c.margin = margin
        c.relationsPerBatch = relationsPerBatch
        c.tripletsPerRelation = tripletsPerRelation
        c.parentTriples = !noParentTriples
        c.template = template
        c.pooling = pooling
        c.seed = seed
        c.hiddenDropout = dropout
        c.attentionDropout = dropout
        c.weightDecay = weightDecay
        c.maxGradientNorm = maxGradientNorm
        c.checkpointEvery = checkpointEvery
        try c.validate()
        return c
    }
}

extension TrainingConfiguration.Loss: ExpressibleByArgument {}
extension LearningRateSchedule.Shape: ExpressibleByArgument {}

/// A progress bar on a terminal (step/total, loss, sequences/s, ETA); plain log lines otherwise.
final class ProgressReporter {
    var total: Int
    let interactive = isatty(STDERR_FILENO) == 1
    private var lastLine = Date.distantPast

    init(total: Int) { self.total = total }

    func report(_ p: TrainingRun.Progress) {
        let remaining = Double(p.totalSteps - p.step) * p.secondsElapsed / Double(max(1, p.step - startStep(p)))
        let eta = Self.duration(remaining)
        if interactive {
            let width = 30
            let filled = width * p.step / max(1, p.totalSteps)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let text = String(format: "\r%@ %d/%d  epoch %d  loss %.4f  %.1f seq/s  ETA %@ ",
                              bar, p.step, p.totalSteps, p.epoch, p.loss, p.sequencesPerSecond, eta)
            FileHandle.standardError.write(Data(text.utf8))
        } else if Date().timeIntervalSince(lastLine) >= 10 || p.step == p.totalSteps {
            lastLine = Date()
            line(String(format: "step %d/%d epoch %d loss %.4f lr %.2e %.1f seq/s ETA %@",
                        p.step, p.totalSteps, p.epoch, p.loss, p.learningRate, p.sequencesPerSecond, eta))
        }
    }

    private var first: Int?
    private func startStep(_ p: TrainingRun.Progress) -> Int {
        if first == nil { first = p.step - 1 }
        return first ?? 0
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds)
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
