import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// The prompt a request is embedded with: a manual template, or the model's learned prompt.
enum ServedPrompt {
    case manual(PromptTemplate)
    case learned(LearnedPrompt)

    /// A request's template name that asks for the model's learned prompt (as `relbert train --template`).
    static let learnedName = TrainingConfiguration.learnedTemplate

    var text: String {
        switch self {
        case .manual(let template): return template.text
        case .learned(let prompt): return prompt.templateText
        }
    }
}

/// A model the coordinator serves, loaded and checked on the coordinator: its tokenizer and default
/// prompt (a manual template, or the learned prompt of `prompt.json`, whose vectors or trigger tokens
/// go to the workers), the weights the workers get, a fingerprint of those weights, and the vector of
/// a probe pair computed here, which serve.Health compares with a worker's.
final class ServedModel {
    let model: PretrainedModel
    let prompt: ServedPrompt
    let pooling: Pooling
    let maxLength: Int
    let identity: Relbert_V1_ModelIdentity
    /// The job id the workers hold this model under (worker.Load, worker.Embed).
    let servingID: String
    let checksum: UInt64
    static let probe = WordPair("paris", "france")
    let probeVector: [Float]

    init(directory: URL, generation: UInt64, jobID: String?, maxLength: Int = 64) throws {
        model = try PretrainedModel.load(from: directory)
        let poolingName = model.config.relbert?.aggregationMode ?? Pooling.averageNoMask.rawValue
        guard let pooling = Pooling(rawValue: poolingName) else {
            throw ServingError.badModel("\(directory.path)/config.json: unknown aggregation_mode '\(poolingName)'")
        }
        if let learned = model.prompt {
            guard pooling != .mask else {
                throw ServingError.badModel("\(directory.path): a learned prompt has no <mask> to pool at; aggregation_mode must be average or average_no_mask")
            }
            prompt = .learned(learned)
        } else {
            prompt = .manual(try PromptTemplate(model.config.relbert?.template ?? PromptTemplate.defaultName))
        }
        self.pooling = pooling
        self.maxLength = min(maxLength, model.config.maxSequenceLength)
        checksum = ParameterChecksum.of(model.parameters.pointer, count: model.parameters.layout.totalCount)
        let hex = String(format: "%016llx", checksum)
        servingID = "serve-\(generation)-\(hex)"
        var identity = Relbert_V1_ModelIdentity()
        identity.path = directory.standardizedFileURL.path
        identity.checksum = hex
        identity.generation = generation
        identity.jobID = jobID ?? ""
        identity.template = prompt.text
        identity.pooling = pooling.rawValue
        self.identity = identity
        // The probe runs here once, on one thread, exactly as a worker runs it.
        let embedder: RelationEmbedder
        switch prompt {
        case .manual(let template):
            embedder = try RelationEmbedder(model: model, template: template, pooling: pooling, maxLength: self.maxLength, threads: 1)
        case .learned(let learned):
            embedder = try RelationEmbedder(model: model, learnedPrompt: learned, pooling: pooling, maxLength: self.maxLength, threads: 1)
        }
        probeVector = try embedder.embed([Self.probe]).values
        guard probeVector.allSatisfy(\.isFinite) else {
            throw ServingError.badModel("\(directory.path): the probe pair \(Self.probe) embeds to a vector that is not finite")
        }
    }

    var dimension: Int { model.config.hiddenSize }

    /// The prompt and pooling a request asks for ("" = the model's own, "learned" = its learned prompt), checked.
    func resolve(template name: String, pooling poolingName: String) throws(ProtocolError) -> (ServedPrompt, Pooling) {
        let prompt: ServedPrompt
        if name.isEmpty {
            prompt = self.prompt
        } else if name == ServedPrompt.learnedName {
            guard let learned = model.prompt else {
                throw ProtocolError(.invalidArgument, "template 'learned': this model has no learned prompt")
            }
            prompt = .learned(learned)
        } else {
            do { prompt = .manual(try PromptTemplate(name)) } catch { throw ProtocolError(.invalidArgument, "template: \(error)") }
        }
        let pooling: Pooling
        if poolingName.isEmpty {
            pooling = self.pooling
        } else {
            guard let mode = Pooling(rawValue: poolingName) else {
                throw ProtocolError(.invalidArgument, "unknown pooling '\(poolingName)': use \(Pooling.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            pooling = mode
        }
        switch prompt {
        case .manual(let template) where pooling == .mask && !template.hasMask:
            throw ProtocolError(.invalidArgument, "pooling 'mask' needs a template with <mask>")
        case .learned where pooling == .mask:
            throw ProtocolError(.invalidArgument, "pooling 'mask' needs a template with <mask>; a learned prompt has none")
        default:
            return (prompt, pooling)
        }
    }

    /// Token ids of a pair's prompt; refuses empty words and prompts that lose their mask token.
    func tokenize(_ pair: WordPair, prompt: ServedPrompt, pooling: Pooling) throws(ProtocolError) -> [Int32] {
        if pair.head.allSatisfy(\.isWhitespace) || pair.tail.allSatisfy(\.isWhitespace) {
            throw ProtocolError(.invalidArgument, "empty word in pair \(pair)")
        }
        let tokenizer = model.tokenizer
        let template: PromptTemplate
        switch prompt {
        case .manual(let manual):
            template = manual
        case .learned(let learned):
            do {
                return try learned.tokenize(pair, tokenizer: tokenizer, vocabulary: model.config.vocabSize, maxLength: maxLength)
            } catch {
                throw ProtocolError(.invalidArgument, "pair \(pair): \(error)")
            }
        }
        let ids = tokenizer.encode(template.fill(pair, maskToken: tokenizer.maskToken), maxLength: maxLength).ids
        if pooling == .mask, !ids.contains(tokenizer.maskTokenID) {
            throw ProtocolError(.invalidArgument, "the prompt for \(pair) was truncated before its mask token; pooling 'mask' cannot use it")
        }
        return ids
    }

    /// The worker.Load that gives a worker this model.
    func loadRequest() -> (Relbert_V1_LoadRequest, [ZMQFrame]) {
        var (request, frames) = Relbert_V1_LoadRequest.weights(jobID: servingID, model: model, pooling: pooling,
                                                               parameters: model.parameters, checksum: checksum)
        request.inference = true
        request.appendPromptVectors(of: model, to: &frames)
        return (request, frames)
    }
}

public enum ServingError: Error, CustomStringConvertible {
    case badModel(String)
    case badIndex(String)

    public var description: String {
        switch self {
        case .badModel(let message): return "cannot serve this model: \(message)"
        case .badIndex(let message): return "cannot build the nearest-pair index: \(message)"
        }
    }
}
