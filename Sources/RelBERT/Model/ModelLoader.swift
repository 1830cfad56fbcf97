import Foundation
import SafeTensors
import Tokenizers

/// A model folder in the Hugging Face layout, loaded: config, weights, tokenizer.
public struct PretrainedModel: Sendable {
    public let directory: URL
    public let config: ModelConfig
    public let parameters: Parameters
    public let tokenizer: any Tokenizer
    /// The original `config.json` bytes, so a checkpoint keeps the fields we do not model.
    public let originalConfigJSON: Data
    /// A prompt found by `relbert prompt search` (`prompt.json`), used instead of a template when present.
    public var prompt: LearnedPrompt? = nil

    public var encoder: Encoder { Encoder(config: config, parameters: parameters) }

    /// Loads `config.json`, `model.safetensors` and the tokenizer files from `directory`.
    public static func load(from directory: URL) throws(ModelError) -> PretrainedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingFile(path: directory.path)
        }
        let configURL = directory.appendingPathComponent("config.json")
        let config = try ModelConfig.load(from: configURL)
        let configData = FileManager.default.contents(atPath: configURL.path) ?? Data()
        let parameters = try WeightLoader.load(from: directory.appendingPathComponent("model.safetensors"), config: config)
        let tokenizer: any Tokenizer
        do {
            tokenizer = try TokenizerLoader.load(directory: directory, modelType: config.modelType.rawValue)
        } catch {
            throw .tokenizer(error.description)
        }
        guard tokenizer.vocabularySize <= config.vocabSize else {
            throw .malformedConfig(path: configURL.path,
                                   reason: "the tokenizer has \(tokenizer.vocabularySize) tokens but vocab_size is \(config.vocabSize)")
        }
        var model = PretrainedModel(directory: directory, config: config, parameters: parameters,
                                    tokenizer: tokenizer, originalConfigJSON: configData)
        model.prompt = try LearnedPrompt.load(from: directory, hidden: config.hiddenSize, vocabulary: config.vocabSize)
        return model
    }
}

/// Reads a safetensors file into a flat ``Parameters`` buffer, checking every tensor against the config.
public enum WeightLoader {
    /// Prefixes under which Hugging Face checkpoints store the encoder.
    static let prefixes = ["", "bert.", "roberta."]

    public static func load(from url: URL, config: ModelConfig) throws(ModelError) -> Parameters {
        guard FileManager.default.fileExists(atPath: url.path) else { throw .missingFile(path: url.path) }
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(contentsOf: url)
        } catch {
            throw .weights(error.description)
        }
        let layout = ParameterLayout(config: config)
        let prefix = prefixes.first { file.info($0 + "embeddings.word_embeddings.weight") != nil } ?? ""
        let parameters = Parameters(layout: layout)
        for tensor in layout.tensors {
            let name = prefix + tensor.name
            guard let info = file.info(name) else {
                throw .missingTensor(path: url.path, name: name)
            }
            guard info.shape == tensor.shape else {
                throw .tensorShapeMismatch(path: url.path, name: name, expected: tensor.shape, found: info.shape)
            }
            let destination = UnsafeMutableBufferPointer(start: parameters.pointer + tensor.offset, count: tensor.count)
            do {
                try file.readFloats(name, into: destination)
            } catch {
                throw .weights(error.description)
            }
        }
        return parameters
    }
}
