import Dispatch

/// Runs training steps in one process: one ``ShardWorker`` per thread, the loss over the whole
/// batch in between, gradients summed in shard order, then clipping and AdamW on the master weights.
/// The cluster's coordinator runs the same step with workers in other processes.
public final class LocalTrainer: StepExecutor, @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var threads: Int = 1
        public var hiddenDropout: Float = 0.1
        public var attentionDropout: Float = 0.1
        public var seed: UInt64 = 0
        public var maxGradientNorm: Float? = nil
        public init() {}
    }


    public let parameters: Parameters
    public let optimizer: AdamW
    public let settings: Settings
    public let workers: [ShardWorker]
    private var embeddings = FloatBuffer(count: 0)
    private var dEmbeddings = FloatBuffer(count: 0)

    public init(model: PretrainedModel, pooling: Pooling, optimizer: AdamW.Settings, settings: Settings) {
        self.parameters = model.parameters
        self.settings = settings
        BLAS.setThreads(1)   // one shard per thread, each with single-threaded OpenBLAS
        self.optimizer = AdamW(parameterCount: model.parameters.layout.totalCount, settings: optimizer)
        let encoder = Encoder(config: model.config, parameters: model.parameters)
        self.workers = (0 ..< max(1, settings.threads)).map { _ in
            ShardWorker(encoder: encoder, pooling: pooling, maskTokenID: model.tokenizer.maskTokenID,
                        promptVectors: model.prompt?.kind == .continuous ? model.prompt?.vectors : nil)
        }
    }

    var dimension: Int { parameters.layout.tensors[0].shape[1] }
    public var summationKey: Int { workers.count }

    /// Forward, loss, backward and one AdamW update. `step` keys the dropout masks.
    public func train(_ batch: StepBatch, step: Int, learningRate: Float) throws -> StepResult {
        let (loss, tokens) = try forwardBackward(batch, step: step)
        let total = parameters.layout.totalCount
        let gradients = workers[0].gradients.pointer
        let norm: Float
        if let maxNorm = settings.maxGradientNorm {
            norm = GradientClipping.clip(gradients, count: total, maxNorm: maxNorm)
        } else {
            norm = GradientClipping.norm(gradients, count: total)
        }
        optimizer.update(parameters: parameters.pointer, gradients: gradients, count: total,
                         learningRate: learningRate, threads: settings.threads)
        for worker in workers { worker.clearGradients() }
        return StepResult(loss: loss, gradientNorm: norm, learningRate: learningRate,
                          sequences: batch.sequences.count, tokens: tokens)
    }

    /// The loss of a batch without dropout or any update (validation).
    public func evaluate(_ batch: StepBatch) throws -> Float {
        let tokenBatch = TokenBatch(sequences: batch.sequences)
        try forward(tokenBatch, dropoutStep: nil)
        return batch.loss(embeddings: embeddings.pointer, dimension: dimension, gradient: nil)
    }

    /// Phases 1 and 2: after it, `workers[0].gradients` holds the summed gradient of the step.
    public func forwardBackward(_ batch: StepBatch, step: Int) throws(TrainingError) -> (loss: Float, tokens: Int) {
        let tokenBatch = TokenBatch(sequences: batch.sequences)
        let shards = try forward(tokenBatch, dropoutStep: step)
        let h = dimension
        let n = tokenBatch.sequenceCount
        if dEmbeddings.count < n * h { dEmbeddings = FloatBuffer(count: n * h) }
        dEmbeddings.pointer.update(repeating: 0, count: n * h)
        let loss = batch.loss(embeddings: embeddings.pointer, dimension: h, gradient: dEmbeddings.pointer)
        guard loss.isFinite else { throw .nonFiniteLoss(step: step) }
        let dE = SendableFloats(dEmbeddings.pointer)
        let workers = self.workers
        let backward: @Sendable (Int) -> Void = { index in
            workers[index].backward(dEmbeddings: dE.pointer + shards[index].lowerBound * h)
        }
        if shards.count == 1 { backward(0) } else {
            DispatchQueue.concurrentPerform(iterations: shards.count, execute: backward)
        }
        // Sum the shards' gradients into the first, in shard order.
        let total = parameters.layout.totalCount
        for index in 1 ..< shards.count {
            GradientSum.add(workers[index], into: workers[0], count: total)
        }
        return (loss, tokenBatch.tokenCount)
    }

    /// Phase 1 over the shards; fills `embeddings`. Returns the shards' sequence ranges.
    @discardableResult
    private func forward(_ tokenBatch: TokenBatch, dropoutStep: Int?) throws(TrainingError) -> [Range<Int>] {
        let h = dimension
        let n = tokenBatch.sequenceCount
        if embeddings.count < n * h { embeddings = FloatBuffer(count: n * h) }
        let shards = tokenBatch.balancedSplit(into: workers.count)
        let out = SendableFloats(embeddings.pointer)
        let workers = self.workers
        let settings = self.settings
        let failures = FailureBox()
        let forward: @Sendable (Int) -> Void = { index in
            let range = shards[index]
            let dropout = dropoutStep.map { step in
                DropoutSettings(hidden: settings.hiddenDropout, attention: settings.attentionDropout,
                                seed: settings.seed, step: UInt64(step),
                                exampleIDs: range.map { UInt64($0) })
            }
            if let failed = workers[index].forward(tokenBatch.slice(range), dropout: dropout,
                                                   into: out.pointer + range.lowerBound * h) {
                failures.record(range.lowerBound + failed)
            }
        }
        if shards.count == 1 { forward(0) } else {
            DispatchQueue.concurrentPerform(iterations: shards.count, execute: forward)
        }
        if let row = failures.first { throw .maskTruncated(sequence: row) }
        return shards
    }
}

/// Adds one shard's gradients into another's: the word table only in the rows it touched.
enum GradientSum {
    static func add(_ source: ShardWorker, into target: ShardWorker, count: Int) {
        let h = source.encoder.config.hiddenSize
        let word = source.gradients.layout.wordEmbeddings
        let afterWord = word + source.encoder.config.vocabSize * h
        let s = source.gradients.pointer, t = target.gradients.pointer
        for token in source.touchedTokens {
            Vector.axpy(1, s + word + Int(token) * h, into: t + word + Int(token) * h, count: h)
        }
        target.markTouched(source.touchedTokens)
        Vector.axpy(1, s + afterWord, into: t + afterWord, count: count - afterWord)
        if word > 0 { Vector.axpy(1, s, into: t, count: word) }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFiniteLoss(step: Int)
    case maskTruncated(sequence: Int)
    case invalidSettings(String)
    case data(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step): return "the loss is not finite at step \(step) (try a lower learning rate)"
        case .maskTruncated(let row): return "sequence \(row) lost its mask token to truncation; pooling 'mask' cannot use it"
        case .invalidSettings(let message): return message
        case .data(let message): return message
        case .checkpoint(let message): return message
        }
    }
}
