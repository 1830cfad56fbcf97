import Foundation

/// AutoPrompt for RelBERT: a discrete search for the trigger tokens of a ``ContinuousPrompt`` shape,
/// the language model frozen. Triggers start as the mask token. Each iteration takes one trigger
/// position (in turn, from a seeded order), averages the gradient of the loss with respect to that
/// position's input vector over the training batches, ranks the vocabulary by `-E·∇` (E the word
/// table; special tokens excluded), and keeps the first of the top `candidates` tokens that lowers the
/// loss over the training batches. An iteration where no candidate helps ends the search.
///
/// The loss is P-tuning's: triplet loss with in-batch negatives over `average`-pooled embeddings, the
/// triggers given to the encoder as vectors equal to their word rows (bit-identical to the tokens).
public struct AutoPrompt {
    public struct Settings: Sendable, Equatable {
        /// The loss the search minimizes and its sampler: P-tuning's (its `epochs` and `learningRate` unused).
        public var objective = PTuning.Settings()
        public var iterations = 50
        /// Candidates tried per iteration (the paper's top k).
        public var candidates = 50
        public init() {}
        public init(objective: PTuning.Settings, iterations: Int, candidates: Int) {
            self.objective = objective
            self.iterations = iterations
            self.candidates = candidates
        }
    }

    public struct Result: Sendable {
        public let prompt: ContinuousPrompt
        public let triggers: [Int32]
        /// The loss over the training batches after each iteration that changed a trigger (first: the start).
        public let lossCurve: [Float]
        public let iterations: Int
        /// Candidates whose loss was evaluated.
        public let candidatesTried: Int
        public let seconds: Double
    }

    public struct Progress: Sendable {
        public let iteration: Int
        public let position: Int
        public let token: Int32?
        public let loss: Float
    }

    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    /// The word-table rows of `ids`, `[ids.count, H]`: trigger tokens as prompt vectors.
    public static func wordRows(_ ids: [Int32], model: PretrainedModel) -> [Float] {
        let h = model.config.hiddenSize
        let table = model.parameters.pointer + model.parameters.layout.wordEmbeddings
        var rows = [Float](repeating: 0, count: ids.count * h)
        for (row, id) in ids.enumerated() {
            for j in 0 ..< h { rows[row * h + j] = table[Int(id) * h + j] }
        }
        return rows
    }

    /// Runs the search on `model` (left unchanged); `objective`: where the loss runs (default: this
    /// process, ``PTuning/Objective`` with the objective settings).
    public func run(model: PretrainedModel, relations: [RelationExamples], objective: (any PromptObjective)? = nil,
                    progress: (Progress) throws -> Void = { _ in }) throws -> Result {
        let started = Date()
        let h = model.config.hiddenSize, vocabulary = model.config.vocabSize
        let objectiveSettings = settings.objective
        let k = objectiveSettings.prompt.triggerCount
        let sampler = TripletSampler(relations: relations, relationsPerBatch: objectiveSettings.relationsPerBatch,
                                     tripletsPerRelation: objectiveSettings.tripletsPerRelation, seed: objectiveSettings.seed)
        let batches = (0 ..< sampler.batchesPerEpoch).map { sampler.batch(epoch: 0, index: $0) }
        let objective = objective ?? PTuning.Objective(model: model, settings: settings.objective)
        let table = UnsafePointer(model.parameters.pointer + model.parameters.layout.wordEmbeddings)   // for the ranking
        let previousThreads = BLAS.threads
        BLAS.setThreads(objectiveSettings.threads)
        defer { BLAS.setThreads(previousThreads) }

        var triggers = [Int32](repeating: model.tokenizer.maskTokenID, count: k)
        func loss(_ ids: [Int32], gradient: UnsafeMutablePointer<Float>? = nil) throws -> Float {
            let vectors = Self.wordRows(ids, model: model)
            var total: Float = 0
            for batch in batches {
                total += try vectors.withUnsafeBufferPointer { v in
                    try objective.loss(batch, vectors: v.baseAddress!, dVectors: gradient)
                }
            }
            return total / Float(max(batches.count, 1))
        }
        let excluded = model.tokenizer.specialTokenIDs
        var random = SplitMix64(seed: objectiveSettings.seed ^ 0xA070)
        var order = random.permutation(k)
        var current = try loss(triggers)
        var curve = [current]
        var tried = 0
        var iteration = 0
        let gradient = FloatBuffer(count: k * h)
        let scores = FloatBuffer(count: vocabulary)
        while iteration < settings.iterations {
            if iteration > 0, iteration % k == 0 { order = random.permutation(k) }
            let position = order[iteration % k]
            iteration += 1
            gradient.zero()
            _ = try loss(triggers, gradient: gradient.pointer)
            // score(token) = -E[token] · ∇ at the position (the first-order change of the loss, negated).
            BLAS.gemm(transposeB: true, m: 1, n: vocabulary, k: h, alpha: -1, a: gradient.pointer + position * h, lda: h,
                      b: table, ldb: h, beta: 0, c: scores.pointer, ldc: vocabulary)
            var ranked = (0 ..< min(vocabulary, model.tokenizer.vocabularySize)).filter {
                !excluded.contains(Int32($0)) && Int32($0) != triggers[position]
            }
            ranked.sort { scores.pointer[$0] > scores.pointer[$1] || (scores.pointer[$0] == scores.pointer[$1] && $0 < $1) }
            var accepted: Int32?
            for candidate in ranked.prefix(settings.candidates) {
                var trial = triggers
                trial[position] = Int32(candidate)
                tried += 1
                let value = try loss(trial)
                if value < current {
                    triggers = trial
                    current = value
                    accepted = Int32(candidate)
                    break
                }
            }
            try progress(Progress(iteration: iteration, position: position, token: accepted, loss: current))
            guard accepted != nil else { break }
            curve.append(current)
        }
        return Result(prompt: objectiveSettings.prompt, triggers: triggers, lossCurve: curve, iterations: iteration,
                      candidatesTried: tried, seconds: Date().timeIntervalSince(started))
    }
}
