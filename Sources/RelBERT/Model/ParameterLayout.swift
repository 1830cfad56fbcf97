/// Where every parameter tensor lives inside the one flat parameter buffer (llm.c style).
///
/// Names follow Hugging Face (`encoder.layer.3.attention.self.query.weight`), without the
/// `bert.`/`roberta.` prefix. Within a layer the query, key and value weights are adjacent, and so are
/// their biases, so the three projections form one `[3H, H]` matrix and run as a single matrix product.
/// Gradients use the same layout, so all of them can be shipped as one block.
public struct ParameterLayout: Sendable, Equatable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset ..< offset + count }
    }

    /// Offsets of one encoder layer's tensors.
    public struct Layer: Sendable, Equatable {
        public let queryKeyValueWeight: Int   // [3H, H]: query, key, value rows
        public let queryKeyValueBias: Int     // [3H]
        public let attentionOutputWeight: Int // [H, H]
        public let attentionOutputBias: Int   // [H]
        public let attentionNormGamma: Int    // [H]
        public let attentionNormBeta: Int     // [H]
        public let intermediateWeight: Int    // [I, H]
        public let intermediateBias: Int      // [I]
        public let outputWeight: Int          // [H, I]
        public let outputBias: Int            // [H]
        public let outputNormGamma: Int       // [H]
        public let outputNormBeta: Int        // [H]
    }

    public let tensors: [Tensor]
    public let totalCount: Int
    public let wordEmbeddings: Int
    public let positionEmbeddings: Int
    public let tokenTypeEmbeddings: Int
    public let embeddingNormGamma: Int
    public let embeddingNormBeta: Int
    public let layers: [Layer]

    private let indexByName: [String: Int]

    public init(config: ModelConfig) {
        let h = config.hiddenSize, i = config.intermediateSize
        var tensors: [Tensor] = []
        var offset = 0
        @discardableResult
        func add(_ name: String, _ shape: [Int]) -> Int {
            let start = offset
            tensors.append(Tensor(name: name, shape: shape, offset: start))
            offset += shape.reduce(1, *)
            return start
        }
        wordEmbeddings = add("embeddings.word_embeddings.weight", [config.vocabSize, h])
        positionEmbeddings = add("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = add("embeddings.token_type_embeddings.weight", [config.typeVocabSize, h])
        embeddingNormGamma = add("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = add("embeddings.LayerNorm.bias", [h])

        var layers: [Layer] = []
        for l in 0 ..< config.numHiddenLayers {
            let p = "encoder.layer.\(l)."
            // Tensors are packed without gaps, so q, k and v weights form one [3H, H] matrix.
            let qkvWeight = add(p + "attention.self.query.weight", [h, h])
            add(p + "attention.self.key.weight", [h, h])
            add(p + "attention.self.value.weight", [h, h])
            let qkvBias = add(p + "attention.self.query.bias", [h])
            add(p + "attention.self.key.bias", [h])
            add(p + "attention.self.value.bias", [h])
            layers.append(Layer(
                queryKeyValueWeight: qkvWeight,
                queryKeyValueBias: qkvBias,
                attentionOutputWeight: add(p + "attention.output.dense.weight", [h, h]),
                attentionOutputBias: add(p + "attention.output.dense.bias", [h]),
                attentionNormGamma: add(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBeta: add(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: add(p + "intermediate.dense.weight", [i, h]),
                intermediateBias: add(p + "intermediate.dense.bias", [i]),
                outputWeight: add(p + "output.dense.weight", [h, i]),
                outputBias: add(p + "output.dense.bias", [h]),
                outputNormGamma: add(p + "output.LayerNorm.weight", [h]),
                outputNormBeta: add(p + "output.LayerNorm.bias", [h])))
        }
        self.layers = layers
        self.tensors = tensors
        self.totalCount = offset
        var index: [String: Int] = [:]
        for (n, t) in tensors.enumerated() { index[t.name] = n }
        self.indexByName = index
    }

    public func tensor(named name: String) -> Tensor? {
        indexByName[name].map { tensors[$0] }
    }
}
