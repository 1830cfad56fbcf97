/// The activations of one encoder layer, kept for the backward pass (llm.c's "acts").
public final class LayerActivations: @unchecked Sendable {
    public let qkv: FloatBuffer            // [T, 3H]
    public var probabilities: FloatBuffer  // [heads · Σ l²]
    public let context: FloatBuffer        // [T, H]
    public let attentionSum: FloatBuffer   // [T, H] input + attention output: the first LayerNorm's input
    public let attentionNorm: FloatBuffer  // [T, H] first LayerNorm's output
    public let attentionMean: FloatBuffer  // [T]
    public let attentionRstd: FloatBuffer  // [T]
    public let intermediate: FloatBuffer   // [T, I] before GELU
    public let activated: FloatBuffer      // [T, I] after GELU
    public let outputSum: FloatBuffer      // [T, H] attentionNorm + feed-forward output
    public let output: FloatBuffer         // [T, H] second LayerNorm's output: the layer's output
    public let outputMean: FloatBuffer     // [T]
    public let outputRstd: FloatBuffer     // [T]
    // Dropout (training only; empty otherwise).
    public let droppedProbabilities: FloatBuffer   // probabilities ⊙ mask
    public let probabilityMask: FloatBuffer
    public let attentionDense: FloatBuffer         // [T, H] attention output projection before dropout
    public let attentionMask: FloatBuffer          // [T, H]
    public let outputDense: FloatBuffer            // [T, H] feed-forward output before dropout
    public let outputMask: FloatBuffer             // [T, H]

    init(tokens: Int, probabilities: Int, hidden h: Int, intermediate i: Int, dropout: Bool) {
        qkv = FloatBuffer(count: tokens * 3 * h)
        self.probabilities = FloatBuffer(count: probabilities)
        context = FloatBuffer(count: tokens * h)
        attentionSum = FloatBuffer(count: tokens * h)
        attentionNorm = FloatBuffer(count: tokens * h)
        attentionMean = FloatBuffer(count: tokens)
        attentionRstd = FloatBuffer(count: tokens)
        intermediate = FloatBuffer(count: tokens * i)
        activated = FloatBuffer(count: tokens * i)
        outputSum = FloatBuffer(count: tokens * h)
        output = FloatBuffer(count: tokens * h)
        outputMean = FloatBuffer(count: tokens)
        outputRstd = FloatBuffer(count: tokens)
        let dropoutTokens = dropout ? tokens : 0
        droppedProbabilities = FloatBuffer(count: dropout ? probabilities : 0)
        probabilityMask = FloatBuffer(count: dropout ? probabilities : 0)
        attentionDense = FloatBuffer(count: dropoutTokens * h)
        attentionMask = FloatBuffer(count: dropoutTokens * h)
        outputDense = FloatBuffer(count: dropoutTokens * h)
        outputMask = FloatBuffer(count: dropoutTokens * h)
    }
}

/// Every activation of one forward pass over a batch, sized for a token capacity and reused from
/// batch to batch: a forward pass allocates nothing once the capacity suffices.
///
/// With `keepsAllLayers == false` (inference) all layers share one ``LayerActivations``; with `true`
/// (training) each layer has its own, as the backward pass needs them.
public final class EncoderActivations: @unchecked Sendable {
    public let config: ModelConfig
    public let keepsAllLayers: Bool
    /// Whether buffers for dropout masks exist (training with dropout).
    public let supportsDropout: Bool
    /// The dropout the last forward pass applied (nil: none), which its backward pass must follow.
    public internal(set) var appliedDropout: DropoutSettings?
    public private(set) var tokenCapacity = 0
    public private(set) var probabilityCapacity = 0

    public private(set) var embeddingSum = FloatBuffer(count: 0)   // [T, H] before LayerNorm
    public private(set) var embeddingOutput = FloatBuffer(count: 0)
    public private(set) var embeddingMean = FloatBuffer(count: 0)
    public private(set) var embeddingRstd = FloatBuffer(count: 0)
    public private(set) var embeddingMask = FloatBuffer(count: 0)
    public private(set) var layers: [LayerActivations] = []

    public init(config: ModelConfig, keepsAllLayers: Bool, supportsDropout: Bool = false) {
        self.config = config
        self.keepsAllLayers = keepsAllLayers
        self.supportsDropout = supportsDropout
    }

    /// Grows the buffers (never shrinks them) so that a batch of this size fits.
    public func reserve(tokens: Int, probabilities: Int) {
        guard tokens > tokenCapacity || probabilities > probabilityCapacity else { return }
        let t = max(tokens, tokenCapacity)
        let p = max(probabilities, probabilityCapacity)
        let h = config.hiddenSize
        embeddingSum = FloatBuffer(count: t * h)
        embeddingOutput = FloatBuffer(count: t * h)
        embeddingMean = FloatBuffer(count: t)
        embeddingRstd = FloatBuffer(count: t)
        embeddingMask = FloatBuffer(count: supportsDropout ? t * h : 0)
        let count = keepsAllLayers ? config.numHiddenLayers : 1
        layers = (0 ..< count).map { _ in
            LayerActivations(tokens: t, probabilities: p, hidden: h, intermediate: config.intermediateSize,
                             dropout: supportsDropout)
        }
        tokenCapacity = t
        probabilityCapacity = p
    }

    /// The activations that layer `index` writes.
    public func layer(_ index: Int) -> LayerActivations { layers[keepsAllLayers ? index : 0] }

    /// The last layer's output, `[T, H]`.
    public var lastHiddenState: FloatBuffer { layers[layers.count - 1].output }
}
