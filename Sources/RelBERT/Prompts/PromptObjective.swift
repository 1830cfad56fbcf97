/// The loss a prompt search minimizes, for one batch of SemEval-2012 triplets: the triplet loss (with
/// in-batch negatives) over `average`-pooled embeddings of the batch's pairs, the language model frozen,
/// the trigger positions reading `vectors` (`[triggers, H]`). With `dVectors`, dLoss/d(vectors) is
/// added there. One process runs it with ``PTuning/Objective``; a cluster spreads the pairs over its
/// workers.
public protocol PromptObjective: AnyObject {
    func loss(_ batch: TripletBatch, vectors: UnsafePointer<Float>, dVectors: UnsafeMutablePointer<Float>?) throws -> Float
}

/// The language-model-independent half of a ``PromptObjective``: a batch's distinct pairs as prompt
/// token ids (memoized), its triplets over them, and the loss of given pooled embeddings.
public final class PromptBatchPreparer {
    public let model: PretrainedModel
    public let settings: PTuning.Settings
    private var tokens: [WordPair: [Int32]] = [:]

    public init(model: PretrainedModel, settings: PTuning.Settings) {
        self.model = model
        self.settings = settings
    }

    /// The pairs' token ids (trigger k as `vocabulary + k`) and the triplets over their rows.
    public func prepare(_ batch: TripletBatch) throws(EmbeddingError) -> (tokens: TokenBatch, triplets: [(anchor: Int, positive: Int, negative: Int)]) {
        let (pairs, triplets) = PTuning.tripletRows(batch, inBatchNegatives: settings.inBatchNegatives)
        var sequences: [[Int32]] = []
        sequences.reserveCapacity(pairs.count)
        for pair in pairs {
            if let known = tokens[pair] { sequences.append(known); continue }
            let ids = try settings.prompt.tokenize(pair, tokenizer: model.tokenizer, vocabulary: model.config.vocabSize,
                                                   maxLength: settings.maxLength)
            tokens[pair] = ids
            sequences.append(ids)
        }
        return (TokenBatch(sequences: sequences), triplets)
    }

    /// The mean triplet loss of `pooled` (`[rows, H]`); with `dPooled` (zeroed by the caller), its
    /// gradient, scaled as the mean is (PyTorch's TripletMarginLoss).
    public func loss(pooled: UnsafePointer<Float>, rows: Int, triplets: [(anchor: Int, positive: Int, negative: Int)],
                     dPooled: UnsafeMutablePointer<Float>?) -> Float {
        let h = model.config.hiddenSize
        let total = TripletLoss.compute(embeddings: pooled, dimension: h, triplets: triplets, margin: settings.margin, gradient: dPooled)
        let scale = 1 / Float(max(triplets.count, 1))
        if let dPooled { for i in 0 ..< rows * h { dPooled[i] *= scale } }
        return total * scale
    }
}
