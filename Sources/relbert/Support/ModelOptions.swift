import ArgumentParser
import Foundation
import RelBERT

/// Options every command that runs the model shares.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model folder in the Hugging Face layout (config.json, model.safetensors, tokenizer files).")
    var model: String = "models/all-MiniLM-L6-v2"

    @Option(help: "Prompt template: a, b, c, d, e, or a custom text with <subj>, <obj> and <mask>. Default: the model's learned prompt or own template, else d.")
    var template: String?

    @Option(help: "Pooling: average_no_mask, average or mask. Default: the model's own, else average_no_mask.")
    var pooling: String?

    @Option(name: .customLong("batch-size"), help: "Prompts per forward pass.")
    var batchSize: Int = 64

    @Option(help: "Threads (one encoder shard per thread). Default: every core.")
    var threads: Int?

    @Option(name: .customLong("max-length"), help: "Truncate prompts to this many tokens.")
    var maxLength: Int = 64

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        guard maxLength >= 3 else { throw ValidationError("--max-length must be at least 3") }
    }

    var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    /// Loads the model and builds the embedder these options describe.
    func makeEmbedder() throws -> RelationEmbedder {
        let loaded = try PretrainedModel.load(from: URL(fileURLWithPath: model))
        if let learned = loaded.prompt, template == nil {
            // A model folder with a learned prompt uses it unless a template is asked for.
            let poolingName = pooling ?? loaded.config.relbert?.aggregationMode ?? Pooling.average.rawValue
            guard let mode = Pooling(rawValue: poolingName) else {
                throw ValidationError("unknown pooling '\(poolingName)': use \(Pooling.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return try RelationEmbedder(model: loaded, learnedPrompt: learned, pooling: mode, maxLength: maxLength, threads: threadCount)
        }
        let templateText = template ?? loaded.config.relbert?.template ?? PromptTemplate.defaultName
        let poolingName = pooling ?? loaded.config.relbert?.aggregationMode ?? Pooling.averageNoMask.rawValue
        guard let mode = Pooling(rawValue: poolingName) else {
            throw ValidationError("unknown pooling '\(poolingName)': use \(Pooling.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try RelationEmbedder(model: loaded, template: PromptTemplate(templateText), pooling: mode,
                                    maxLength: maxLength, threads: threadCount)
    }
}
