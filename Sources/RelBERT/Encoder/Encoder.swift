/// The BERT/RoBERTa encoder's forward pass over a packed ``TokenBatch``, single-threaded
/// (callers run one shard per thread).
public struct Encoder: Sendable {
    public let config: ModelConfig
    public let parameters: Parameters

    public init(config: ModelConfig, parameters: Parameters) {
        self.config = config
        self.parameters = parameters
    }

    /// Runs the embeddings and every layer; the result is `activations.lastHiddenState`, `[T, H]`.
    public func forward(_ batch: TokenBatch, activations: EncoderActivations) {
        let h = config.hiddenSize, inter = config.intermediateSize, heads = config.numAttentionHeads
        let t = batch.tokenCount
        let layout = parameters.layout
        let w = UnsafePointer(parameters.pointer)
        batch.starts.withUnsafeBufferPointer { starts in
            let probabilityCount = Attention.probabilityCount(starts: starts, heads: heads)
            activations.reserve(tokens: t, probabilities: probabilityCount)
            batch.tokenIDs.withUnsafeBufferPointer { ids in
                guard let idBase = ids.baseAddress else { return }
                Embeddings.forward(out: activations.embeddingSum.pointer, tokenIDs: idBase, starts: starts,
                                   wordTable: w + layout.wordEmbeddings,
                                   positionTable: w + layout.positionEmbeddings,
                                   typeRow: w + layout.tokenTypeEmbeddings,
                                   firstPosition: config.firstPositionID, hidden: h)
            }
            LayerNorm.forward(out: activations.embeddingOutput.pointer,
                              mean: activations.embeddingMean.pointer, rstd: activations.embeddingRstd.pointer,
                              inp: activations.embeddingSum.pointer,
                              gamma: w + layout.embeddingNormGamma, beta: w + layout.embeddingNormBeta,
                              rows: t, width: h, eps: config.layerNormEps)

            var input = UnsafePointer(activations.embeddingOutput.pointer)
            for l in 0 ..< config.numHiddenLayers {
                let p = layout.layers[l]
                let a = activations.layer(l)
                Linear.forward(out: a.qkv.pointer, inp: input,
                               weight: w + p.queryKeyValueWeight, bias: w + p.queryKeyValueBias,
                               rows: t, inFeatures: h, outFeatures: 3 * h)
                Attention.forward(context: a.context.pointer, probabilities: a.probabilities.pointer,
                                  qkv: a.qkv.pointer, starts: starts, hidden: h, heads: heads)
                Linear.forward(out: a.attentionSum.pointer, inp: a.context.pointer,
                               weight: w + p.attentionOutputWeight, bias: w + p.attentionOutputBias,
                               residual: input, rows: t, inFeatures: h, outFeatures: h)
                LayerNorm.forward(out: a.attentionNorm.pointer, mean: a.attentionMean.pointer,
                                  rstd: a.attentionRstd.pointer, inp: a.attentionSum.pointer,
                                  gamma: w + p.attentionNormGamma, beta: w + p.attentionNormBeta,
                                  rows: t, width: h, eps: config.layerNormEps)
                Linear.forward(out: a.intermediate.pointer, inp: a.attentionNorm.pointer,
                               weight: w + p.intermediateWeight, bias: w + p.intermediateBias,
                               rows: t, inFeatures: h, outFeatures: inter)
                GELU.forward(out: a.activated.pointer, inp: a.intermediate.pointer, count: t * inter)
                Linear.forward(out: a.outputSum.pointer, inp: a.activated.pointer,
                               weight: w + p.outputWeight, bias: w + p.outputBias,
                               residual: a.attentionNorm.pointer, rows: t, inFeatures: inter, outFeatures: h)
                LayerNorm.forward(out: a.output.pointer, mean: a.outputMean.pointer,
                                  rstd: a.outputRstd.pointer, inp: a.outputSum.pointer,
                                  gamma: w + p.outputNormGamma, beta: w + p.outputNormBeta,
                                  rows: t, width: h, eps: config.layerNormEps)
                input = UnsafePointer(a.output.pointer)
            }
        }
    }
}
