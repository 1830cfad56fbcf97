import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// A model the coordinator serves, loaded and checked on the coordinator: its tokenizer and default
/// prompt, the weights the workers get, a fingerprint of those weights, and the vector of a probe
/// pair computed here, which serve.Health compares with a worker's.
final class ServedModel {
    let model: PretrainedModel
    let template: PromptTemplate
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
        if let learned = model.prompt {
            // The workers would need the prompt's vectors or triggers in worker.Load; not built yet.
            throw ServingError.badModel("\(directory.path) has a learned prompt (\(learned.method), \(learned.kind.rawValue)); serving learned prompts is not supported yet: use relbert embed / eval, or a model with a manual template")
        }
        template = try PromptTemplate(model.config.relbert?.template ?? PromptTemplate.defaultName)
        let poolingName = model.config.relbert?.aggregationMode ?? Pooling.averageNoMask.rawValue
        guard let pooling = Pooling(rawValue: poolingName) else {
            throw ServingError.badModel("\(directory.path)/config.json: unknown aggregation_mode '\(poolingName)'")
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
        identity.template = template.text
        identity.pooling = pooling.rawValue
        self.identity = identity
        // The probe runs here once, on one thread, exactly as a worker runs it.
        let embedder = try RelationEmbedder(model: model, template: template, pooling: pooling, maxLength: self.maxLength, threads: 1)
        probeVector = try embedder.embed([Self.probe]).values
        guard probeVector.allSatisfy(\.isFinite) else {
            throw ServingError.badModel("\(directory.path): the probe pair \(Self.probe) embeds to a vector that is not finite")
        }
    }

    var dimension: Int { model.config.hiddenSize }

    /// The prompt and pooling a request asks for ("" = the model's own), checked.
    func resolve(template name: String, pooling poolingName: String) throws(ProtocolError) -> (PromptTemplate, Pooling) {
        let template: PromptTemplate
        if name.isEmpty {
            template = self.template
        } else {
            do { template = try PromptTemplate(name) } catch { throw ProtocolError(.invalidArgument, "template: \(error)") }
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
        if pooling == .mask, !template.hasMask {
            throw ProtocolError(.invalidArgument, "pooling 'mask' needs a template with <mask>")
        }
        return (template, pooling)
    }

    /// Token ids of a pair's prompt; refuses empty words and prompts that lose their mask token.
    func tokenize(_ pair: WordPair, template: PromptTemplate, pooling: Pooling) throws(ProtocolError) -> [Int32] {
        if pair.head.allSatisfy(\.isWhitespace) || pair.tail.allSatisfy(\.isWhitespace) {
            throw ProtocolError(.invalidArgument, "empty word in pair \(pair)")
        }
        let tokenizer = model.tokenizer
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
