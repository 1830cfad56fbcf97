import Foundation

/// What `relbert prompt search` runs, as one value a coordinator can queue as a job: the method, the
/// prompt shapes to try, and each method's settings. Every shape is searched; the one whose learned
/// prompt has the lowest triplet loss on the validation relations is kept, as the paper chose among
/// π ∈ {8, 9} and τ, γ ∈ {2, 3}.
public struct PromptSearchSpec: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        case ptuning
        case autoprompt
    }

    public var method: Method = .ptuning
    public var shapes: [ContinuousPrompt] = PromptSearchSpec.paperGrid
    /// P-tuning: passes over the training relations.
    public var epochs = 5
    /// AutoPrompt: trigger updates at most, and candidates tried per update (top k).
    public var iterations = 50
    public var candidates = 50
    /// P-tuning: Adam's learning rate for the prompt encoder.
    public var learningRate: Float = 1e-3
    public var relationsPerBatch = 8
    public var tripletsPerRelation = 4
    public var seed: UInt64 = 0
    public var maxLength = 64

    public init() {}

    /// The paper's grid: π ∈ {8, 9}, τ ∈ {2, 3}, γ ∈ {2, 3}.
    public static let paperGrid: [ContinuousPrompt] = [8, 9].flatMap { before in
        [2, 3].flatMap { between in [2, 3].map { ContinuousPrompt(before: before, between: between, after: $0) } }
    }

    public func validate() throws(TrainingError) {
        guard !shapes.isEmpty, shapes.count <= 64 else { throw .invalidSettings("a prompt search needs 1 to 64 prompt shapes") }
        for shape in shapes where !(shape.before >= 0 && shape.between >= 0 && shape.after >= 0 && (1 ... 256).contains(shape.triggerCount)) {
            throw .invalidSettings("prompt shape \(shape.description): trigger counts must be 0 or more, 1 to 256 in all")
        }
        guard iterations > 0, candidates > 0, epochs > 0, relationsPerBatch > 0, tripletsPerRelation > 0 else {
            throw .invalidSettings("iterations, candidates, epochs, relations per batch and triplets per relation must be positive")
        }
        guard learningRate > 0, learningRate.isFinite else { throw .invalidSettings("the learning rate must be positive") }
        guard (8 ... 512).contains(maxLength) else { throw .invalidSettings("max length must be 8...512") }
    }

    /// The objective's settings for one shape (P-tuning's loss; AutoPrompt minimizes the same).
    public func objectiveSettings(_ shape: ContinuousPrompt, threads: Int) -> PTuning.Settings {
        var s = PTuning.Settings()
        s.prompt = shape
        s.epochs = epochs
        s.learningRate = learningRate
        s.relationsPerBatch = relationsPerBatch
        s.tripletsPerRelation = tripletsPerRelation
        s.seed = seed
        s.maxLength = maxLength
        s.threads = threads
        return s
    }
}

/// Runs a ``PromptSearchSpec`` over every shape and writes the winner as a model folder.
public struct PromptSearchRun {
    public struct Progress: Sendable {
        /// P-tuning steps or AutoPrompt iterations over all shapes so far, and their most (AutoPrompt may stop early).
        public let step: Int
        public let totalSteps: Int
        public let loss: Float
        public let shape: ContinuousPrompt
        public let message: String
    }

    /// One shape's search.
    public struct Trial: Sendable {
        public let prompt: LearnedPrompt
        public let trainingLossBefore: Float
        public let trainingLossAfter: Float
        public let validationLossBefore: Float
        public let validationLossAfter: Float
        /// P-tuning: the loss of every step; AutoPrompt: the training loss after each accepted update (first: the start).
        public let lossCurve: [Float]
        /// P-tuning steps or AutoPrompt iterations.
        public let steps: Int
        public let candidatesTried: Int
        public let seconds: Double
    }

    public struct Outcome: Sendable {
        public let trials: [Trial]
        /// The trial with the lowest validation loss (the first of equals).
        public var best: Trial { trials.min { $0.validationLossAfter < $1.validationLossAfter }! }
        public let seconds: Double
    }

    /// Makes the objective of one shape's search; nil: this process.
    public typealias ObjectiveFactory = (PTuning.Settings) throws -> any PromptObjective

    public let spec: PromptSearchSpec
    /// BLAS threads of this process.
    public let threads: Int

    public init(spec: PromptSearchSpec, threads: Int) {
        self.spec = spec
        self.threads = max(1, threads)
    }

    public func totalSteps(trainingRelations: [RelationExamples]) -> Int {
        let perShape: Int
        switch spec.method {
        case .ptuning:
            let sampler = TripletSampler(relations: trainingRelations, relationsPerBatch: spec.relationsPerBatch,
                                         tripletsPerRelation: spec.tripletsPerRelation, seed: spec.seed)
            perShape = spec.epochs * sampler.batchesPerEpoch
        case .autoprompt:
            perShape = spec.iterations
        }
        return perShape * spec.shapes.count
    }

    public func run(base: PretrainedModel, data: SemEvalDataset, objective: ObjectiveFactory? = nil,
                    progress: (Progress) throws -> Void = { _ in }) throws -> Outcome {
        try spec.validate()
        let started = Date()
        let total = totalSteps(trainingRelations: data.training)
        var trials: [Trial] = []
        var done = 0
        for shape in spec.shapes {
            let settings = spec.objectiveSettings(shape, threads: threads)
            let made = try objective?(settings)
            let trial: Trial
            switch spec.method {
            case .ptuning:
                trial = try pTuning(base: base, data: data, settings: settings, objective: made) { step, loss in
                    try progress(Progress(step: done + step, totalSteps: total, loss: loss, shape: shape,
                                          message: String(format: "%@ step %d loss %.4f", shape.description, step, loss)))
                }
                done += trial.steps
            case .autoprompt:
                trial = try autoPrompt(base: base, data: data, settings: settings, objective: made) { p in
                    let token = p.token.map { "token \($0)" } ?? "no candidate lowers the loss: stopping"
                    try progress(Progress(step: done + p.iteration, totalSteps: total, loss: p.loss, shape: shape,
                                          message: String(format: "%@ iteration %d, position %d: %@, loss %.4f",
                                                          shape.description, p.iteration, p.position, token, p.loss)))
                }
                done += spec.iterations   // an early stop skips the rest of this shape's budget
            }
            trials.append(trial)
        }
        return Outcome(trials: trials, seconds: Date().timeIntervalSince(started))
    }

    private func pTuning(base: PretrainedModel, data: SemEvalDataset, settings: PTuning.Settings, objective: (any PromptObjective)?,
                         progress: (Int, Float) throws -> Void) throws -> Trial {
        let search = PTuning(settings: settings)
        let h = base.config.hiddenSize
        let start = search.initialVectors(hidden: h)
        let trainingBefore = try search.loss(model: base, relations: data.training, vectors: start, objective: objective)
        let result = try search.run(model: base, relations: data.training, objective: objective) { try progress($0.step, $0.loss) }
        let prompt = LearnedPrompt(method: "ptuning", kind: .continuous, shape: settings.prompt, vectors: result.vectors)
        return Trial(prompt: prompt, trainingLossBefore: trainingBefore,
                     trainingLossAfter: try search.loss(model: base, relations: data.training, vectors: result.vectors, objective: objective),
                     validationLossBefore: try search.loss(model: base, relations: data.validation, vectors: start, objective: objective),
                     validationLossAfter: try search.loss(model: base, relations: data.validation, vectors: result.vectors, objective: objective),
                     lossCurve: result.lossCurve, steps: result.steps, candidatesTried: 0, seconds: result.seconds)
    }

    private func autoPrompt(base: PretrainedModel, data: SemEvalDataset, settings: PTuning.Settings, objective: (any PromptObjective)?,
                            progress: (AutoPrompt.Progress) throws -> Void) throws -> Trial {
        let search = AutoPrompt(settings: AutoPrompt.Settings(objective: settings, iterations: spec.iterations, candidates: spec.candidates))
        let result = try search.run(model: base, relations: data.training, objective: objective, progress: progress)
        // The validation relations under the same loss the search minimized.
        let yardstick = PTuning(settings: settings)
        let start = [Int32](repeating: base.tokenizer.maskTokenID, count: settings.prompt.triggerCount)
        let prompt = LearnedPrompt(method: "autoprompt", kind: .discrete, shape: settings.prompt, triggers: result.triggers)
        return Trial(prompt: prompt, trainingLossBefore: result.lossCurve.first ?? .nan, trainingLossAfter: result.lossCurve.last ?? .nan,
                     validationLossBefore: try yardstick.loss(model: base, relations: data.validation,
                                                              vectors: AutoPrompt.wordRows(start, model: base), objective: objective),
                     validationLossAfter: try yardstick.loss(model: base, relations: data.validation,
                                                             vectors: AutoPrompt.wordRows(result.triggers, model: base), objective: objective),
                     lossCurve: result.lossCurve, steps: result.iterations, candidatesTried: result.candidatesTried,
                     seconds: result.seconds)
    }

    /// What `prompt_search.json` records: the settings, the chosen shape's figures at the top level,
    /// and every shape's under `grid`.
    public func report(_ outcome: Outcome, workers: Int?) -> [String: Any] {
        func figures(_ trial: Trial) -> [String: Any] {
            var entry: [String: Any] = [
                "before": trial.prompt.shape.before, "between": trial.prompt.shape.between, "after": trial.prompt.shape.after,
                "seconds": (trial.seconds * 10).rounded() / 10,
                "training_loss_before": Double(trial.trainingLossBefore), "training_loss_after": Double(trial.trainingLossAfter),
                "validation_loss_before": Double(trial.validationLossBefore), "validation_loss_after": Double(trial.validationLossAfter),
            ]
            switch spec.method {
            case .ptuning:
                entry["steps"] = trial.steps
            case .autoprompt:
                entry["iterations"] = trial.steps
                entry["candidates_tried"] = trial.candidatesTried
                entry["triggers"] = trial.prompt.triggers.map(Int.init)
            }
            return entry
        }
        let best = outcome.best
        var report = figures(best)
        report["method"] = spec.method.rawValue
        report["seed"] = Int(spec.seed)
        report["relations_per_batch"] = spec.relationsPerBatch
        report["triplets_per_relation"] = spec.tripletsPerRelation
        report["threads"] = threads
        if let workers { report["workers"] = workers }
        report["seconds_all_shapes"] = (outcome.seconds * 10).rounded() / 10
        report["grid"] = outcome.trials.map(figures)
        switch spec.method {
        case .ptuning:
            report["epochs"] = spec.epochs
            report["learning_rate"] = Double(spec.learningRate)
            report["loss_per_step"] = best.lossCurve.map(Double.init)
        case .autoprompt:
            report["candidates_per_iteration"] = spec.candidates
            report["loss_after_each_update"] = best.lossCurve.map(Double.init)
        }
        return report
    }

    /// The base model's files with the chosen prompt and `prompt_search.json`: written beside `folder`
    /// and renamed into place, so the folder is either the old one or complete.
    public static func writeModel(base: PretrainedModel, prompt: LearnedPrompt, report: [String: Any], to folder: URL) throws {
        let manager = FileManager.default
        let partial = folder.deletingLastPathComponent().appendingPathComponent(".\(folder.lastPathComponent).partial")
        try? manager.removeItem(at: partial)
        try manager.createDirectory(at: partial, withIntermediateDirectories: true)
        let skipped: Set<String> = ["config.json", LearnedPrompt.fileName, LearnedPrompt.vectorsFileName, "prompt_search.json"]
        for name in try manager.contentsOfDirectory(atPath: base.directory.path) where !skipped.contains(name) && !name.hasPrefix(".") {
            try manager.copyItem(at: base.directory.appendingPathComponent(name), to: partial.appendingPathComponent(name))
        }
        var config = base.config
        config.relbert = RelBERTSettings(template: prompt.templateText, aggregationMode: Pooling.average.rawValue)
        let original = (try? JSONSerialization.jsonObject(with: base.originalConfigJSON)) as? [String: Any] ?? [:]
        try JSONSerialization.data(withJSONObject: config.jsonObject(mergingInto: original), options: [.prettyPrinted, .sortedKeys])
            .write(to: partial.appendingPathComponent("config.json"))
        try prompt.write(to: partial, hidden: base.config.hiddenSize)
        try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
            .write(to: partial.appendingPathComponent("prompt_search.json"))
        if manager.fileExists(atPath: folder.path) { try manager.removeItem(at: folder) }
        try manager.moveItem(at: partial, to: folder)
    }
}
