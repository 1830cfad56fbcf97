import Foundation

/// P-tuning for RelBERT: learns the trigger vectors of a ``ContinuousPrompt`` with the language
/// model frozen. The vectors come from a ``PromptEncoder``; each step embeds a batch of SemEval-2012
/// triplets with those vectors at the trigger positions (`average` pooling, as the original code
/// uses while it searches a prompt), takes the triplet loss with in-batch negatives, and updates the
/// prompt encoder alone with Adam.
///
/// The result is the prompt encoder's *output*, the vectors the model saw while the prompt was
/// learned. (RelBERT's code exported the encoder's raw input embedding instead, which the language
/// model never saw.)
public struct PTuning {
    public struct Settings: Sendable, Equatable {
        public var prompt = ContinuousPrompt(before: 8, between: 2, after: 2)
        public var epochs = 5
        public var learningRate: Float = 1e-3
        public var relationsPerBatch = 8
        public var tripletsPerRelation = 4
        public var margin: Float = 1
        /// Also contrast every anchor with the positives of the batch's other relations.
        public var inBatchNegatives = true
        public var seed: UInt64 = 0
        public var maxLength = 64
        public var threads = 1
        public init() {}
    }

    public struct Result: Sendable {
        public let prompt: ContinuousPrompt
        /// `[triggerCount, H]`: the prompt encoder's output after the last step.
        public let vectors: [Float]
        /// The mean loss per triplet of every step.
        public let lossCurve: [Float]
        public let steps: Int
        public let seconds: Double
    }

    public struct Progress: Sendable {
        public let step: Int
        public let totalSteps: Int
        public let loss: Float
    }

    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    /// The triplet rows of one batch: its triplets, then (with in-batch negatives) every anchor against
    /// the positives of the other relations' triplets.
    public static func tripletRows(_ batch: TripletBatch, inBatchNegatives: Bool)
        -> (pairs: [WordPair], triplets: [(anchor: Int, positive: Int, negative: Int)]) {
        var rows = PairRows()
        var triplets = batch.triplets.map { (anchor: rows.row($0.anchor), positive: rows.row($0.positive), negative: rows.row($0.negative)) }
        if inBatchNegatives {
            let base = triplets
            for (i, t) in base.enumerated() {
                for (j, other) in base.enumerated() where batch.relations[j] != batch.relations[i] && other.positive != t.positive {
                    triplets.append((anchor: t.anchor, positive: t.positive, negative: other.positive))
                }
            }
        }
        return (rows.pairs, triplets)
    }

    /// The objective in one process: the whole batch through one encoder (BLAS threads for parallelism).
    public final class Objective: PromptObjective {
        let model: PretrainedModel
        let preparer: PromptBatchPreparer
        let encoder: Encoder
        let activations: EncoderActivations
        let workspace = BackwardWorkspace()
        let modelGradients: Parameters

        public init(model: PretrainedModel, settings: Settings) {
            self.model = model
            preparer = PromptBatchPreparer(model: model, settings: settings)
            encoder = Encoder(config: model.config, parameters: model.parameters)
            activations = EncoderActivations(config: model.config, keepsAllLayers: true)
            modelGradients = Parameters(layout: model.parameters.layout)
        }

        /// The mean triplet loss of `batch`; with `dVectors`, its gradient is added there.
        public func loss(_ batch: TripletBatch, vectors: UnsafePointer<Float>, dVectors: UnsafeMutablePointer<Float>?) throws(EmbeddingError) -> Float {
            let h = model.config.hiddenSize
            let (packed, triplets) = try preparer.prepare(batch)
            let rows = packed.sequenceCount
            encoder.forward(packed, activations: activations, promptVectors: vectors)
            let pooled = FloatBuffer(count: rows * h)
            _ = Pooling.average.pool(batch: packed, states: activations.lastHiddenState.pointer,
                                     maskTokenID: model.tokenizer.maskTokenID, hidden: h, out: pooled.pointer)
            let dPooled = dVectors == nil ? nil : FloatBuffer(count: rows * h)
            let loss = preparer.loss(pooled: pooled.pointer, rows: rows, triplets: triplets, dPooled: dPooled?.pointer)
            if let dVectors, let dPooled {
                let dStates = FloatBuffer(count: packed.tokenCount * h)
                Pooling.average.backward(batch: packed, dOut: dPooled.pointer, maskTokenID: model.tokenizer.maskTokenID,
                                         hidden: h, dStates: dStates.pointer)
                modelGradients.storage.zero()
                encoder.backward(packed, activations: activations, dLastHidden: dStates.pointer, gradients: modelGradients,
                                 workspace: workspace, dPromptVectors: dVectors, weightGradients: false)
            }
            return loss
        }
    }

    /// The mean loss over every batch of epoch 0 with the given prompt vectors (`[triggerCount, H]`):
    /// a fixed yardstick to compare prompts by.
    /// `objective`: where the loss runs (default: this process, ``Objective``).
    public func loss(model: PretrainedModel, relations: [RelationExamples], vectors: [Float],
                     objective: (any PromptObjective)? = nil) throws -> Float {
        let sampler = TripletSampler(relations: relations, relationsPerBatch: settings.relationsPerBatch,
                                     tripletsPerRelation: settings.tripletsPerRelation, seed: settings.seed)
        let objective = objective ?? Objective(model: model, settings: settings)
        var total: Float = 0
        for index in 0 ..< sampler.batchesPerEpoch {
            total += try vectors.withUnsafeBufferPointer { v in
                try objective.loss(sampler.batch(epoch: 0, index: index), vectors: v.baseAddress!, dVectors: nil)
            }
        }
        return total / Float(max(sampler.batchesPerEpoch, 1))
    }

    /// The prompt encoder's output before any step (what the search starts from).
    public func initialVectors(hidden: Int) -> [Float] {
        let encoder = PromptEncoder(rows: settings.prompt.triggerCount, width: hidden, seed: settings.seed)
        let cache = encoder.makeCache()
        encoder.forward(cache)
        return cache.output.array(0 ..< settings.prompt.triggerCount * hidden)
    }

    /// Runs the search on `model` (left unchanged) over `relations`; `objective` as in ``loss(model:relations:vectors:objective:)``.
    public func run(model: PretrainedModel, relations: [RelationExamples], objective: (any PromptObjective)? = nil,
                    progress: (Progress) throws -> Void = { _ in }) throws -> Result {
        let started = Date()
        let h = model.config.hiddenSize
        let prompt = settings.prompt
        let sampler = TripletSampler(relations: relations, relationsPerBatch: settings.relationsPerBatch,
                                     tripletsPerRelation: settings.tripletsPerRelation, seed: settings.seed)
        let objective = objective ?? Objective(model: model, settings: settings)
        let promptEncoder = PromptEncoder(rows: prompt.triggerCount, width: h, seed: settings.seed)
        let cache = promptEncoder.makeCache()
        let optimizer = AdamW(parameterCount: promptEncoder.parameterCount, settings: .init(weightDecay: 0))
        let dVectors = FloatBuffer(count: prompt.triggerCount * h)
        let previousThreads = BLAS.threads
        BLAS.setThreads(settings.threads)
        defer { BLAS.setThreads(previousThreads) }

        let total = settings.epochs * sampler.batchesPerEpoch
        var curve: [Float] = []
        var step = 0
        for epoch in 0 ..< settings.epochs {
            for index in 0 ..< sampler.batchesPerEpoch {
                promptEncoder.forward(cache)
                dVectors.zero()
                let loss = try objective.loss(sampler.batch(epoch: epoch, index: index), vectors: cache.output.pointer,
                                              dVectors: dVectors.pointer)
                promptEncoder.zeroGradients()
                promptEncoder.backward(cache, dOutput: dVectors.pointer)
                optimizer.update(parameters: promptEncoder.parameters.pointer, gradients: promptEncoder.gradients.pointer,
                                 count: promptEncoder.parameterCount, learningRate: settings.learningRate)
                step += 1
                curve.append(loss)
                try progress(Progress(step: step, totalSteps: total, loss: loss))
            }
        }
        promptEncoder.forward(cache)
        return Result(prompt: prompt, vectors: cache.output.array(0 ..< prompt.triggerCount * h), lossCurve: curve,
                      steps: step, seconds: Date().timeIntervalSince(started))
    }
}
