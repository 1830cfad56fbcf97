/// The BERT/RoBERTa encoder over a packed ``TokenBatch``: forward and backward passes,
/// single-threaded (callers run one shard per thread).
public struct Encoder: Sendable {
    public let config: ModelConfig
    public let parameters: Parameters

    public init(config: ModelConfig, parameters: Parameters) {
        self.config = config
        self.parameters = parameters
    }

    /// Runs the embeddings and every layer; the result is `activations.lastHiddenState`, `[T, H]`.
    /// With `dropout` (training), `activations` must have been made with `supportsDropout`.
    /// `promptVectors` (`[k, H]`): the input vectors of a continuous prompt, addressed by token ids
    /// `vocabSize ..< vocabSize + k` (see ``Embeddings``). Without it every id must be in the vocabulary.
    public func forward(_ batch: TokenBatch, activations: EncoderActivations, dropout: DropoutSettings? = nil,
                        promptVectors: UnsafePointer<Float>? = nil) {
        precondition(dropout == nil || activations.supportsDropout, "dropout needs EncoderActivations(supportsDropout: true)")
        precondition(dropout == nil || dropout!.exampleIDs.count == batch.sequenceCount, "one dropout example id per sequence")
        let h = config.hiddenSize, inter = config.intermediateSize, heads = config.numAttentionHeads
        let t = batch.tokenCount
        let layout = parameters.layout
        let w = UnsafePointer(parameters.pointer)
        let hiddenDropout = (dropout?.hidden ?? 0) > 0 ? dropout : nil
        let attentionDropout = (dropout?.attention ?? 0) > 0 ? dropout : nil
        activations.appliedDropout = dropout
        batch.starts.withUnsafeBufferPointer { starts in
            let probabilityCount = Attention.probabilityCount(starts: starts, heads: heads)
            activations.reserve(tokens: t, probabilities: probabilityCount)
            batch.tokenIDs.withUnsafeBufferPointer { ids in
                guard let idBase = ids.baseAddress else { return }
                Embeddings.forward(out: activations.embeddingSum.pointer, tokenIDs: idBase, starts: starts,
                                   wordTable: w + layout.wordEmbeddings,
                                   positionTable: w + layout.positionEmbeddings,
                                   typeRow: w + layout.tokenTypeEmbeddings,
                                   firstPosition: config.firstPositionID, hidden: h,
                                   vocabulary: config.vocabSize, promptVectors: promptVectors)
            }
            LayerNorm.forward(out: activations.embeddingOutput.pointer,
                              mean: activations.embeddingMean.pointer, rstd: activations.embeddingRstd.pointer,
                              inp: activations.embeddingSum.pointer,
                              gamma: w + layout.embeddingNormGamma, beta: w + layout.embeddingNormBeta,
                              rows: t, width: h, eps: config.layerNormEps)
            if let d = hiddenDropout {
                fillTokenMasks(activations.embeddingMask.pointer, starts: starts, width: h, probability: d.hidden,
                               settings: d, site: 0)
                Dropout.apply(activations.embeddingOutput.pointer, mask: activations.embeddingMask.pointer, count: t * h)
            }

            var input = UnsafePointer(activations.embeddingOutput.pointer)
            for l in 0 ..< config.numHiddenLayers {
                let p = layout.layers[l]
                let a = activations.layer(l)
                Linear.forward(out: a.qkv.pointer, inp: input,
                               weight: w + p.queryKeyValueWeight, bias: w + p.queryKeyValueBias,
                               rows: t, inFeatures: h, outFeatures: 3 * h)
                if let d = attentionDropout {
                    fillProbabilityMasks(a.probabilityMask.pointer, starts: starts, heads: heads, probability: d.attention,
                                         settings: d, site: Dropout.site(layer: l, .attentionProbabilities))
                    Attention.forward(context: a.context.pointer, probabilities: a.probabilities.pointer,
                                      qkv: a.qkv.pointer, starts: starts, hidden: h, heads: heads,
                                      dropped: a.droppedProbabilities.pointer, mask: a.probabilityMask.pointer)
                } else {
                    Attention.forward(context: a.context.pointer, probabilities: a.probabilities.pointer,
                                      qkv: a.qkv.pointer, starts: starts, hidden: h, heads: heads)
                }
                denseWithResidual(out: a.attentionSum.pointer, dense: a.attentionDense.pointer, mask: a.attentionMask.pointer,
                                  inp: a.context.pointer, weight: w + p.attentionOutputWeight, bias: w + p.attentionOutputBias,
                                  residual: input, rows: t, inFeatures: h, starts: starts,
                                  dropout: hiddenDropout, site: Dropout.site(layer: l, .attentionOutput))
                LayerNorm.forward(out: a.attentionNorm.pointer, mean: a.attentionMean.pointer,
                                  rstd: a.attentionRstd.pointer, inp: a.attentionSum.pointer,
                                  gamma: w + p.attentionNormGamma, beta: w + p.attentionNormBeta,
                                  rows: t, width: h, eps: config.layerNormEps)
                Linear.forward(out: a.intermediate.pointer, inp: a.attentionNorm.pointer,
                               weight: w + p.intermediateWeight, bias: w + p.intermediateBias,
                               rows: t, inFeatures: h, outFeatures: inter)
                GELU.forward(out: a.activated.pointer, inp: a.intermediate.pointer, count: t * inter)
                denseWithResidual(out: a.outputSum.pointer, dense: a.outputDense.pointer, mask: a.outputMask.pointer,
                                  inp: a.activated.pointer, weight: w + p.outputWeight, bias: w + p.outputBias,
                                  residual: a.attentionNorm.pointer, rows: t, inFeatures: inter, starts: starts,
                                  dropout: hiddenDropout, site: Dropout.site(layer: l, .feedForwardOutput))
                LayerNorm.forward(out: a.output.pointer, mean: a.outputMean.pointer,
                                  rstd: a.outputRstd.pointer, inp: a.outputSum.pointer,
                                  gamma: w + p.outputNormGamma, beta: w + p.outputNormBeta,
                                  rows: t, width: h, eps: config.layerNormEps)
                input = UnsafePointer(a.output.pointer)
            }
        }
    }

    /// `out = residual + dropout(inp · Wᵀ + b)`; without dropout, one fused pass.
    private func denseWithResidual(out: UnsafeMutablePointer<Float>, dense: UnsafeMutablePointer<Float>,
                                   mask: UnsafeMutablePointer<Float>,
                                   inp: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                   residual: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                                   starts: UnsafeBufferPointer<Int>, dropout: DropoutSettings?, site: UInt64) {
        let h = config.hiddenSize
        guard let d = dropout else {
            Linear.forward(out: out, inp: inp, weight: weight, bias: bias, residual: residual,
                           rows: rows, inFeatures: inFeatures, outFeatures: h)
            return
        }
        Linear.forward(out: dense, inp: inp, weight: weight, bias: bias, rows: rows, inFeatures: inFeatures, outFeatures: h)
        fillTokenMasks(mask, starts: starts, width: h, probability: d.hidden, settings: d, site: site)
        for i in 0 ..< rows * h { out[i] = residual[i] + dense[i] * mask[i] }
    }

    private func fillTokenMasks(_ mask: UnsafeMutablePointer<Float>, starts: UnsafeBufferPointer<Int>, width: Int,
                                probability: Float, settings: DropoutSettings, site: UInt64) {
        for s in 0 ..< starts.count - 1 {
            Dropout.fill(mask + starts[s] * width, count: (starts[s + 1] - starts[s]) * width,
                         probability: probability, key: settings.key(sequence: s, site: site))
        }
    }

    private func fillProbabilityMasks(_ mask: UnsafeMutablePointer<Float>, starts: UnsafeBufferPointer<Int>, heads: Int,
                                      probability: Float, settings: DropoutSettings, site: UInt64) {
        var offset = 0
        for s in 0 ..< starts.count - 1 {
            let count = heads * (starts[s + 1] - starts[s]) * (starts[s + 1] - starts[s])
            Dropout.fill(mask + offset, count: count, probability: probability, key: settings.key(sequence: s, site: site))
            offset += count
        }
    }

    /// Backward from `dLastHidden` (`[T, H]`, the gradient of the loss with respect to the last
    /// layer's output) through every layer and the embeddings, adding every parameter's gradient into
    /// `gradients` (same layout as the parameters). `activations` must hold the forward pass of the same
    /// batch with `keepsAllLayers`.
    /// `dPromptVectors` (`[k, H]`), with a continuous prompt: dLoss/d(prompt vectors) is added there.
    /// `weightGradients: false` skips the weight matrices' and biases' gradients (a third of the work;
    /// `gradients` then holds only the LayerNorm and embedding-table parts): for a prompt search, which
    /// wants only `dPromptVectors`.
    /// `layerDone(l)` is called as soon as layer l's gradients are complete (l = L-1 down to 0, before
    /// the embeddings' part): a cluster worker sends them on while the layers below are computed.
    public func backward(_ batch: TokenBatch, activations: EncoderActivations, dLastHidden: UnsafePointer<Float>,
                         gradients: Parameters, workspace: BackwardWorkspace,
                         dPromptVectors: UnsafeMutablePointer<Float>? = nil, weightGradients: Bool = true,
                         layerDone: ((Int) -> Void)? = nil) {
        precondition(activations.keepsAllLayers, "backward needs the activations of every layer")
        let h = config.hiddenSize, inter = config.intermediateSize, heads = config.numAttentionHeads
        let t = batch.tokenCount
        let layout = parameters.layout
        let w = UnsafePointer(parameters.pointer)
        let g = gradients.pointer
        /// Where a weight's or bias's gradient goes, or nil to skip it.
        func weight(_ offset: Int) -> UnsafeMutablePointer<Float>? { weightGradients ? g + offset : nil }
        let dropout = activations.appliedDropout
        let hiddenDropout = (dropout?.hidden ?? 0) > 0
        let attentionDropout = (dropout?.attention ?? 0) > 0
        workspace.reserve(tokens: t, longest: batch.longestSequence, config: config)
        var dX = workspace.dX.pointer
        var dPrevious = workspace.dPrevious.pointer
        dX.update(from: dLastHidden, count: t * h)
        let dResidual = workspace.dResidual.pointer
        let dDense = workspace.dDense.pointer
        let dInter = workspace.dIntermediate.pointer
        let dNorm = workspace.dNorm.pointer
        let dContext = workspace.dContext.pointer
        let dQKV = workspace.dQKV.pointer

        batch.starts.withUnsafeBufferPointer { starts in
            for l in stride(from: config.numHiddenLayers - 1, through: 0, by: -1) {
                let p = layout.layers[l]
                let a = activations.layer(l)
                let input = l == 0 ? UnsafePointer(activations.embeddingOutput.pointer)
                                   : UnsafePointer(activations.layer(l - 1).output.pointer)
                // Second LayerNorm, then the feed-forward block.
                LayerNorm.backward(dInp: dResidual, dGamma: g + p.outputNormGamma, dBeta: g + p.outputNormBeta,
                                   dOut: dX, inp: a.outputSum.pointer, gamma: w + p.outputNormGamma,
                                   mean: a.outputMean.pointer, rstd: a.outputRstd.pointer,
                                   rows: t, width: h, accumulateInput: false)
                var dFeedForward = UnsafePointer(dResidual)
                if hiddenDropout {
                    for i in 0 ..< t * h { dDense[i] = dResidual[i] * a.outputMask.pointer[i] }
                    dFeedForward = UnsafePointer(dDense)
                }
                Linear.backward(dInp: dInter, dWeight: weight(p.outputWeight), dBias: weight(p.outputBias),
                                dOut: dFeedForward, inp: a.activated.pointer, weight: w + p.outputWeight,
                                rows: t, inFeatures: inter, outFeatures: h, accumulateInput: false)
                GELU.backward(dInp: dInter, dOut: dInter, inp: a.intermediate.pointer, count: t * inter)
                dNorm.update(from: dResidual, count: t * h)   // the residual path around the feed-forward block
                Linear.backward(dInp: dNorm, dWeight: weight(p.intermediateWeight), dBias: weight(p.intermediateBias),
                                dOut: dInter, inp: a.attentionNorm.pointer, weight: w + p.intermediateWeight,
                                rows: t, inFeatures: h, outFeatures: inter, accumulateInput: true)
                // First LayerNorm, then attention.
                LayerNorm.backward(dInp: dResidual, dGamma: g + p.attentionNormGamma, dBeta: g + p.attentionNormBeta,
                                   dOut: dNorm, inp: a.attentionSum.pointer, gamma: w + p.attentionNormGamma,
                                   mean: a.attentionMean.pointer, rstd: a.attentionRstd.pointer,
                                   rows: t, width: h, accumulateInput: false)
                var dAttentionOut = UnsafePointer(dResidual)
                if hiddenDropout {
                    for i in 0 ..< t * h { dDense[i] = dResidual[i] * a.attentionMask.pointer[i] }
                    dAttentionOut = UnsafePointer(dDense)
                }
                Linear.backward(dInp: dContext, dWeight: weight(p.attentionOutputWeight), dBias: weight(p.attentionOutputBias),
                                dOut: dAttentionOut, inp: a.context.pointer, weight: w + p.attentionOutputWeight,
                                rows: t, inFeatures: h, outFeatures: h, accumulateInput: false)
                Attention.backward(dQKV: dQKV, dContext: dContext, probabilities: a.probabilities.pointer,
                                   dropped: attentionDropout ? UnsafePointer(a.droppedProbabilities.pointer) : nil,
                                   mask: attentionDropout ? UnsafePointer(a.probabilityMask.pointer) : nil,
                                   qkv: a.qkv.pointer, starts: starts, hidden: h, heads: heads,
                                   scratch: workspace.scores.pointer)
                dPrevious.update(from: dResidual, count: t * h)   // the residual path around attention
                Linear.backward(dInp: dPrevious, dWeight: weight(p.queryKeyValueWeight), dBias: weight(p.queryKeyValueBias),
                                dOut: dQKV, inp: input, weight: w + p.queryKeyValueWeight,
                                rows: t, inFeatures: h, outFeatures: 3 * h, accumulateInput: true)
                swap(&dX, &dPrevious)
                layerDone?(l)
            }
            // Embeddings: dropout, LayerNorm, then the three tables.
            if hiddenDropout {
                Dropout.apply(dX, mask: activations.embeddingMask.pointer, count: t * h)
            }
            LayerNorm.backward(dInp: dResidual, dGamma: g + layout.embeddingNormGamma, dBeta: g + layout.embeddingNormBeta,
                               dOut: dX, inp: activations.embeddingSum.pointer, gamma: w + layout.embeddingNormGamma,
                               mean: activations.embeddingMean.pointer, rstd: activations.embeddingRstd.pointer,
                               rows: t, width: h, accumulateInput: false)
            batch.tokenIDs.withUnsafeBufferPointer { ids in
                guard let idBase = ids.baseAddress else { return }
                Embeddings.backward(dWordTable: g + layout.wordEmbeddings, dPositionTable: g + layout.positionEmbeddings,
                                    dTypeRow: g + layout.tokenTypeEmbeddings, dOut: dResidual, tokenIDs: idBase,
                                    starts: starts, firstPosition: config.firstPositionID, hidden: h,
                                    vocabulary: config.vocabSize, dPromptVectors: dPromptVectors)
            }
        }
    }
}
