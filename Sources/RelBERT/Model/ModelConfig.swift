import Foundation

/// The architecture of a BERT or RoBERTa encoder, read from a Hugging Face `config.json`.
///
/// The raw JSON object is kept so that a checkpoint written later carries every field the
/// original had, plus ours (`relbert_config`).
public struct ModelConfig: Sendable, Equatable {
    public enum ModelType: String, Sendable { case bert, roberta }

    public var modelType: ModelType
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenID: Int
    public var hiddenDropoutProbability: Float
    public var attentionDropoutProbability: Float
    /// RelBERT's own settings, when the folder is a RelBERT checkpoint.
    public var relbert: RelBERTSettings?

    public var headSize: Int { hiddenSize / numAttentionHeads }

    /// Position ids of a sequence start here: 0 for BERT, `pad_token_id + 1` for RoBERTa.
    public var firstPositionID: Int { modelType == .roberta ? padTokenID + 1 : 0 }

    /// The longest sequence the position table can hold.
    public var maxSequenceLength: Int { maxPositionEmbeddings - firstPositionID }

    public init(modelType: ModelType, vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int,
                numAttentionHeads: Int, intermediateSize: Int, maxPositionEmbeddings: Int,
                typeVocabSize: Int, layerNormEps: Float, padTokenID: Int,
                hiddenDropoutProbability: Float = 0.1, attentionDropoutProbability: Float = 0.1,
                relbert: RelBERTSettings? = nil) {
        self.modelType = modelType
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.padTokenID = padTokenID
        self.hiddenDropoutProbability = hiddenDropoutProbability
        self.attentionDropoutProbability = attentionDropoutProbability
        self.relbert = relbert
    }
}

/// The `relbert_config` block of a checkpoint's config.json: the prompt and pooling it was trained with.
public struct RelBERTSettings: Sendable, Equatable {
    public var template: String
    public var aggregationMode: String

    public init(template: String, aggregationMode: String) {
        self.template = template
        self.aggregationMode = aggregationMode
    }
}

extension ModelConfig {
    /// Reads and checks `config.json`.
    public static func load(from url: URL) throws(ModelError) -> ModelConfig {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .missingFile(path: path)
        }
        return try parse(data, source: path)
    }

    /// Parses and checks the bytes of a `config.json`; `source` names it in errors.
    public static func parse(_ data: Data, source path: String) throws(ModelError) -> ModelConfig {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .malformedConfig(path: path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let json = object as? [String: Any] else {
            throw .malformedConfig(path: path, reason: "the top level is not a JSON object")
        }
        return try ModelConfig(json: json, path: path)
    }

    init(json: [String: Any], path: String) throws(ModelError) {
        func integer(_ key: String, default fallback: Int? = nil) throws(ModelError) -> Int {
            guard let value = json[key] else {
                if let fallback { return fallback }
                throw .malformedConfig(path: path, reason: "'\(key)' is missing")
            }
            guard let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded() else {
                throw .malformedConfig(path: path, reason: "'\(key)' must be an integer")
            }
            let result = number.intValue
            guard result >= 0 else { throw .malformedConfig(path: path, reason: "'\(key)' must not be negative") }
            return result
        }
        func real(_ key: String, default fallback: Double) throws(ModelError) -> Float {
            guard let value = json[key], !(value is NSNull) else { return Float(fallback) }
            guard let number = value as? NSNumber else {
                throw .malformedConfig(path: path, reason: "'\(key)' must be a number")
            }
            return number.floatValue
        }

        guard let typeName = json["model_type"] as? String else {
            throw .malformedConfig(path: path, reason: "'model_type' is missing")
        }
        guard let modelType = ModelType(rawValue: typeName) else {
            throw .unsupportedModelType(path: path, modelType: typeName)
        }
        if let activation = json["hidden_act"] as? String, activation != "gelu" {
            throw .malformedConfig(path: path, reason: "hidden_act '\(activation)' is not supported (only 'gelu')")
        }
        if let positionType = json["position_embedding_type"] as? String, positionType != "absolute" {
            throw .malformedConfig(path: path, reason: "position_embedding_type '\(positionType)' is not supported (only 'absolute')")
        }

        self.modelType = modelType
        vocabSize = try integer("vocab_size")
        hiddenSize = try integer("hidden_size")
        numHiddenLayers = try integer("num_hidden_layers")
        numAttentionHeads = try integer("num_attention_heads")
        intermediateSize = try integer("intermediate_size")
        maxPositionEmbeddings = try integer("max_position_embeddings")
        typeVocabSize = try integer("type_vocab_size", default: modelType == .roberta ? 1 : 2)
        layerNormEps = try real("layer_norm_eps", default: 1e-12)
        padTokenID = try integer("pad_token_id", default: modelType == .roberta ? 1 : 0)
        hiddenDropoutProbability = try real("hidden_dropout_prob", default: 0.1)
        attentionDropoutProbability = try real("attention_probs_dropout_prob", default: 0.1)

        for (key, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize),
                             ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                             ("intermediate_size", intermediateSize), ("type_vocab_size", typeVocabSize)]
            where value == 0 {
            throw .malformedConfig(path: path, reason: "'\(key)' must be positive")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw .malformedConfig(path: path, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
        guard padTokenID < vocabSize else {
            throw .malformedConfig(path: path, reason: "pad_token_id \(padTokenID) is outside the vocabulary (\(vocabSize))")
        }
        guard maxPositionEmbeddings > firstPositionID + 2 else {
            throw .malformedConfig(path: path, reason: "max_position_embeddings \(maxPositionEmbeddings) is too small")
        }

        if let block = json["relbert_config"] as? [String: Any] {
            guard let template = block["template"] as? String,
                  let mode = block["aggregation_mode"] as? String else {
                throw .malformedConfig(path: path, reason: "'relbert_config' needs 'template' and 'aggregation_mode' strings")
            }
            relbert = RelBERTSettings(template: template, aggregationMode: mode)
        } else {
            relbert = nil
        }
    }

    /// The JSON object for a Hugging Face `config.json`, merged over `base` (the original file's fields).
    public func jsonObject(mergingInto base: [String: Any] = [:]) -> [String: Any] {
        var json = base
        json["model_type"] = modelType.rawValue
        json["architectures"] = [modelType == .roberta ? "RobertaModel" : "BertModel"]
        json["vocab_size"] = vocabSize
        json["hidden_size"] = hiddenSize
        json["num_hidden_layers"] = numHiddenLayers
        json["num_attention_heads"] = numAttentionHeads
        json["intermediate_size"] = intermediateSize
        json["max_position_embeddings"] = maxPositionEmbeddings
        json["type_vocab_size"] = typeVocabSize
        json["layer_norm_eps"] = Double(layerNormEps)
        json["pad_token_id"] = padTokenID
        json["hidden_act"] = "gelu"
        json["hidden_dropout_prob"] = Double(hiddenDropoutProbability)
        json["attention_probs_dropout_prob"] = Double(attentionDropoutProbability)
        if let relbert {
            json["relbert_config"] = ["template": relbert.template, "aggregation_mode": relbert.aggregationMode]
        }
        return json
    }
}
