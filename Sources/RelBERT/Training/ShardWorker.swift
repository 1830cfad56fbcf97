import Tokenizers

/// One shard of a training step: the forward pass to pooled embeddings, then (given the gradient of
/// the loss with respect to those embeddings) the backward pass into this shard's own gradient buffer.
///
/// The loss couples every example of a step (InfoNCE and in-batch negatives), so a step runs in two
/// phases: every shard's forward, the loss over the whole batch, every shard's backward. Threads in
/// one process and worker processes of the cluster both run exactly this.
public final class ShardWorker: @unchecked Sendable {
    public let encoder: Encoder
    public let pooling: Pooling
    public let maskTokenID: Int32
    public let gradients: Parameters
    private let activations: EncoderActivations
    private let workspace = BackwardWorkspace()
    private var batch = TokenBatch(sequences: [])
    private var dStates = FloatBuffer(count: 0)
    /// Word-table rows this shard's gradients touch since the last `clearGradients()`.
    public private(set) var touchedTokens = Set<Int32>()

    /// The vectors of a continuous learned prompt (`[triggers, H]`, fixed while the model trains),
    /// read for token ids past the vocabulary.
    public let promptVectors: [Float]?

    public init(encoder: Encoder, pooling: Pooling, maskTokenID: Int32, promptVectors: [Float]? = nil) {
        self.promptVectors = promptVectors
        self.encoder = encoder
        self.pooling = pooling
        self.maskTokenID = maskTokenID
        self.gradients = Parameters(layout: encoder.parameters.layout)
        self.activations = EncoderActivations(config: encoder.config, keepsAllLayers: true, supportsDropout: true)
    }

    /// Phase 1: pooled embeddings `[sequences, H]` of `batch` into `out`.
    /// Returns the index of a sequence that could not be pooled (mask pooling, truncated mask), if any.
    /// `promptVectors`: a continuous prompt for this pass only (a prompt search), instead of the shard's.
    public func forward(_ batch: TokenBatch, dropout: DropoutSettings?, promptVectors override: [Float]? = nil,
                        into out: UnsafeMutablePointer<Float>) -> Int? {
        self.batch = batch
        if let promptVectors = override ?? promptVectors {
            promptVectors.withUnsafeBufferPointer { encoder.forward(batch, activations: activations, dropout: dropout, promptVectors: $0.baseAddress) }
        } else {
            encoder.forward(batch, activations: activations, dropout: dropout)
        }
        return pooling.pool(batch: batch, states: activations.lastHiddenState.pointer, maskTokenID: maskTokenID,
                            hidden: encoder.config.hiddenSize, out: out)
    }

    /// Phase 2: adds the gradients of the last forward batch, given dLoss/dEmbedding `[sequences, H]`;
    /// with `dPromptVectors`, also dLoss/d(prompt vectors) there. `weightGradients: false` (a prompt
    /// search) skips the weights' gradients. `layerDone(l)`: layer l's gradients are complete (see
    /// ``Encoder/backward(_:activations:dLastHidden:gradients:workspace:dPromptVectors:weightGradients:layerDone:)``).
    public func backward(dEmbeddings: UnsafePointer<Float>, dPromptVectors: UnsafeMutablePointer<Float>? = nil,
                         weightGradients: Bool = true, layerDone: ((Int) -> Void)? = nil) {
        let h = encoder.config.hiddenSize
        if dStates.count < batch.tokenCount * h { dStates = FloatBuffer(count: batch.tokenCount * h) }
        pooling.backward(batch: batch, dOut: dEmbeddings, maskTokenID: maskTokenID, hidden: h, dStates: dStates.pointer)
        encoder.backward(batch, activations: activations, dLastHidden: dStates.pointer, gradients: gradients,
                         workspace: workspace, dPromptVectors: dPromptVectors, weightGradients: weightGradients,
                         layerDone: layerDone)
        let vocabulary = Int32(encoder.config.vocabSize)
        touchedTokens.formUnion(batch.tokenIDs.lazy.filter { $0 < vocabulary })   // trigger ids have no word-table row
    }

    /// Records rows of the word table that another shard's gradients, summed into this one, touched.
    public func markTouched(_ tokens: Set<Int32>) { touchedTokens.formUnion(tokens) }

    /// Zeroes the gradients (the word table only in the rows that were touched).
    public func clearGradients() {
        let layout = gradients.layout
        let h = encoder.config.hiddenSize
        let word = layout.wordEmbeddings
        let afterWord = word + encoder.config.vocabSize * h
        for token in touchedTokens {
            (gradients.pointer + word + Int(token) * h).update(repeating: 0, count: h)
        }
        (gradients.pointer + afterWord).update(repeating: 0, count: layout.totalCount - afterWord)
        if word > 0 { gradients.pointer.update(repeating: 0, count: word) }
        touchedTokens.removeAll(keepingCapacity: true)
    }
}
