import Foundation

/// A whole fine-tuning run: data, sampler, trainer, schedule, checkpoints, log and resume.
///
/// Every step is a pure function of (weights, optimizer state, seed, step index): the sampler computes
/// a step's examples from its index, and dropout masks are keyed by (seed, step, example). So a run
/// resumed from its last checkpoint continues exactly as if it had not stopped.
public final class TrainingRun {
    /// Makes the step executor of a run from its model, pooling and settings (the local trainer by default).
    public typealias ExecutorFactory = (PretrainedModel, Pooling, AdamW.Settings, LocalTrainer.Settings) throws -> any StepExecutor

    public struct Progress: Sendable {
        public let step: Int           // steps completed
        public let totalSteps: Int
        public let epoch: Int
        public let loss: Float
        public let learningRate: Float
        public let sequencesPerSecond: Double
        public let secondsElapsed: Double

        public init(step: Int, totalSteps: Int, epoch: Int, loss: Float, learningRate: Float,
                    sequencesPerSecond: Double, secondsElapsed: Double) {
            self.step = step
            self.totalSteps = totalSteps
            self.epoch = epoch
            self.loss = loss
            self.learningRate = learningRate
            self.sequencesPerSecond = sequencesPerSecond
            self.secondsElapsed = secondsElapsed
        }
    }

    public let configuration: TrainingConfiguration
    public let output: URL
    public let model: PretrainedModel
    public let threads: Int
    let dataset: SemEvalDataset
    let embedder: RelationEmbedder
    public let trainer: any StepExecutor
    let schedule: LearningRateSchedule
    let stepsPerEpoch: Int
    public private(set) var completedSteps = 0
    private let contrastive: ContrastiveSampler?
    private let triplets: TripletSampler?

    public var totalSteps: Int { stepsPerEpoch * configuration.epochs }
    public var checkpointDirectory: URL { output.appendingPathComponent("checkpoint") }
    public var logURL: URL { output.appendingPathComponent("train_log.jsonl") }

    /// Prepares a run. With `resume`, picks up the checkpoint in `output/checkpoint` (its weights,
    /// optimizer state and position); it is an error to resume with no checkpoint, or to start afresh
    /// over an output folder that already holds one.
    public init(modelDirectory: URL, dataDirectory: URL, output: URL, configuration: TrainingConfiguration,
                threads: Int, resume: Bool, executor: ExecutorFactory? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        self.output = output
        self.threads = max(1, threads)
        let checkpoint = output.appendingPathComponent("checkpoint")
        Checkpoint.recover(checkpoint)
        let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("trainer_state.json").path)
        if resume, !hasCheckpoint {
            throw TrainingError.checkpoint("nothing to resume: \(checkpoint.path) holds no checkpoint")
        }
        if !resume, hasCheckpoint {
            throw TrainingError.checkpoint("\(output.path) already holds a run's checkpoint: pass --resume to continue it, or choose another --output")
        }
        model = try PretrainedModel.load(from: resume ? checkpoint : modelDirectory)
        guard let pooling = Pooling(rawValue: configuration.pooling) else {
            throw TrainingError.invalidSettings("unknown pooling '\(configuration.pooling)'")
        }
        if configuration.template == TrainingConfiguration.learnedTemplate {
            guard let learned = model.prompt else {
                throw TrainingError.invalidSettings("--template learned needs a model folder with a learned prompt (relbert prompt search); \(modelDirectory.path) has none")
            }
            embedder = try RelationEmbedder(model: model, learnedPrompt: learned, pooling: pooling,
                                            maxLength: configuration.maxLength, threads: self.threads)
        } else {
            embedder = try RelationEmbedder(model: model, template: PromptTemplate(configuration.template), pooling: pooling,
                                            maxLength: configuration.maxLength, threads: self.threads)
        }
        do {
            dataset = try SemEvalDataset.load(directory: dataDirectory.appendingPathComponent("semeval2012_task2"))
        } catch {
            throw TrainingError.data(error.description)
        }
        var settings = LocalTrainer.Settings()
        settings.threads = self.threads
        settings.hiddenDropout = configuration.hiddenDropout
        settings.attentionDropout = configuration.attentionDropout
        settings.seed = configuration.seed
        settings.maxGradientNorm = configuration.maxGradientNorm
        let adam = AdamW.Settings(beta1: configuration.beta1, beta2: configuration.beta2,
                                  epsilon: configuration.epsilon, weightDecay: configuration.weightDecay)
        if let executor {
            trainer = try executor(model, pooling, adam, settings)
        } else {
            trainer = LocalTrainer(model: model, pooling: pooling, optimizer: adam, settings: settings)
        }
        switch configuration.loss {
        case .nce:
            let sampler = ContrastiveSampler(relations: dataset.training, negatives: configuration.negatives, seed: configuration.seed)
            contrastive = sampler
            triplets = nil
            stepsPerEpoch = sampler.stepsPerEpoch
        case .triplet:
            let sampler = TripletSampler(relations: dataset.training, relationsPerBatch: configuration.relationsPerBatch,
                                         tripletsPerRelation: configuration.tripletsPerRelation, seed: configuration.seed,
                                         parentTriples: configuration.parentTriples)
            triplets = sampler
            contrastive = nil
            stepsPerEpoch = sampler.batchesPerEpoch
        }
        schedule = LearningRateSchedule(peak: configuration.learningRate, warmupSteps: configuration.warmupSteps,
                                        totalSteps: stepsPerEpoch * configuration.epochs, shape: configuration.schedule)
        if resume {
            let state = try Checkpoint.readTrainingState(from: checkpoint, into: trainer.optimizer)
            try Self.checkResumable(checkpoint: checkpoint, state: state, configuration: configuration,
                                    summationKey: trainer.summationKey)
            completedSteps = state.step
            try TrainingLog.truncate(logURL, keepingSteps: completedSteps)
        } else {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: logURL)
        }
    }

    /// A run continues exactly only with the settings it started with: every hyper-parameter (the
    /// checkpoint interval aside) and the thread count, which fixes the order of float summation.
    static func checkResumable(checkpoint: URL, state: Checkpoint.TrainerState,
                               configuration: TrainingConfiguration, summationKey: Int) throws(TrainingError) {
        let url = checkpoint.appendingPathComponent("finetuning_config.json")
        guard let data = FileManager.default.contents(atPath: url.path),
              var saved = try? JSONDecoder().decode(TrainingConfiguration.self, from: data) else {
            throw .checkpoint("\(url.path): missing or unreadable")
        }
        saved.checkpointEvery = configuration.checkpointEvery
        if saved != configuration {
            let ours = (try? JSONEncoder().encode(configuration)).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: AnyHashable] ?? [:]
            let theirs = (try? JSONEncoder().encode(saved)).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: AnyHashable] ?? [:]
            let differing = Set(ours.keys).union(theirs.keys).filter { ours[$0] != theirs[$0] }.sorted()
            throw .checkpoint("the checkpoint was made with other settings (\(differing.joined(separator: ", "))); resume with the options it started with, see \(url.path)")
        }
        // A cluster's summation order follows its live workers: exact to rounding only, so any is accepted.
        guard state.threads == summationKey || state.threads == 0 || summationKey == 0 else {
            throw .checkpoint("the checkpoint was made with --threads \(state.threads); resume with the same thread count for an exact continuation")
        }
    }

    /// The examples of global step `step`.
    public func batch(step: Int) throws -> StepBatch {
        let epoch = step / stepsPerEpoch, index = step % stepsPerEpoch
        if let contrastive {
            let s = contrastive.step(epoch: epoch, index: index)
            let sequences = try (s.positives + s.negatives).map { try embedder.tokenize($0) }
            return StepBatch(sequences: sequences,
                             objective: .infoNCE(positives: Array(0 ..< s.positives.count),
                                                 negatives: Array(s.positives.count ..< sequences.count),
                                                 temperature: configuration.temperature))
        }
        guard let triplets else { throw TrainingError.invalidSettings("no sampler") }
        return try tripletBatch(triplets.batch(epoch: epoch, index: index).triplets)
    }

    func tripletBatch(_ list: [Triplet]) throws -> StepBatch {
        var rows = PairRows()
        let indices = list.map { StepBatch.TripletRows(anchor: rows.row($0.anchor), positive: rows.row($0.positive), negative: rows.row($0.negative)) }
        return StepBatch(sequences: try rows.pairs.map { try embedder.tokenize($0) },
                         objective: .triplet(triplets: indices, margin: configuration.margin))
    }

    /// Runs the remaining steps, checkpointing as configured; `stopAfter` ends early (for tests).
    public func run(stopAfter: Int? = nil, progress: (Progress) -> Void = { _ in }) throws {
        let clock = ContinuousClock()
        let start = clock.now
        var sequences = 0
        let last = min(totalSteps, stopAfter.map { completedSteps + $0 } ?? totalSteps)
        while completedSteps < last {
            let step = completedSteps
            let batch = try self.batch(step: step)
            let rate = schedule.rate(at: step)
            let result = try trainer.train(batch, step: step, learningRate: rate)
            completedSteps += 1
            sequences += result.sequences
            let elapsed = (clock.now - start).secondsValue
            try TrainingLog.append(logURL, TrainingLog.Entry(step: completedSteps, epoch: step / stepsPerEpoch + 1,
                                                             loss: result.loss, learningRate: rate,
                                                             gradientNorm: result.gradientNorm,
                                                             sequences: result.sequences, seconds: elapsed))
            progress(Progress(step: completedSteps, totalSteps: totalSteps, epoch: step / stepsPerEpoch + 1,
                              loss: result.loss, learningRate: rate,
                              sequencesPerSecond: Double(sequences) / max(elapsed, 1e-9), secondsElapsed: elapsed))
            if completedSteps % configuration.checkpointEvery == 0 || completedSteps % stepsPerEpoch == 0
                || completedSteps == totalSteps {
                try saveCheckpoint()
            }
        }
        if completedSteps == totalSteps {
            try Checkpoint.write(to: output.appendingPathComponent("model"), model: model, parameters: trainer.parameters,
                                 configuration: configuration)
        }
    }

    public func saveCheckpoint() throws {
        try Checkpoint.write(to: checkpointDirectory, model: model, parameters: trainer.parameters,
                             configuration: configuration, optimizer: trainer.optimizer,
                             state: Checkpoint.TrainerState(step: completedSteps, totalSteps: totalSteps,
                                                            seed: configuration.seed, threads: trainer.summationKey))
    }

    /// The validation loss: InfoNCE per validation relation (its positives against its own negatives
    /// and the other relations' validation positives), no dropout, averaged.
    public func validationLoss() throws -> Float {
        let sampler = ContrastiveSampler(relations: dataset.validation, negatives: configuration.negatives, seed: configuration.seed)
        var total: Float = 0
        for index in 0 ..< sampler.stepsPerEpoch {
            let s = sampler.step(epoch: 0, index: index)
            let sequences = try (s.positives + s.negatives).map { try embedder.tokenize($0) }
            let batch = StepBatch(sequences: sequences,
                                  objective: .infoNCE(positives: Array(0 ..< s.positives.count),
                                                      negatives: Array(s.positives.count ..< sequences.count),
                                                      temperature: configuration.temperature))
            total += try trainer.evaluate(batch)
        }
        return total / Float(max(1, sampler.stepsPerEpoch))
    }

    /// The embedder over the current weights (for evaluation at the end of a run).
    public var currentEmbedder: RelationEmbedder { embedder }
}

/// The training log: one JSON object per step in `train_log.jsonl`.
public enum TrainingLog {
    public struct Entry: Codable, Sendable, Equatable {
        public var step: Int
        public var epoch: Int
        public var loss: Float
        public var learningRate: Float
        public var gradientNorm: Float
        public var sequences: Int
        public var seconds: Double
    }

    static func append(_ url: URL, _ entry: Entry) throws {
        var data = try JSONEncoder().encode(entry)
        data.append(UInt8(ascii: "\n"))
        if let handle = try? FileHandle(forWritingTo: url) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
        } else {
            guard FileManager.default.createFile(atPath: url.path, contents: data) else {
                throw TrainingError.checkpoint("cannot write \(url.path)")
            }
        }
    }

    public static func read(_ url: URL) -> [Entry] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(Entry.self, from: Data($0)) }
    }

    /// Drops the entries after `keepingSteps` (steps redone after a resume).
    static func truncate(_ url: URL, keepingSteps: Int) throws {
        let kept = read(url).filter { $0.step <= keepingSteps }
        var data = Data()
        for entry in kept {
            data.append(try JSONEncoder().encode(entry))
            data.append(UInt8(ascii: "\n"))
        }
        try data.write(to: url, options: .atomic)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var secondsValue: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
