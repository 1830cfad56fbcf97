import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// What every worker.Load carries, checked: the job id, the model's config, its pooling and mask
/// token, and the weights (the "parameters" frame, verified against the request's checksum). The
/// training replica also reads the optimizer moments that may follow. A model with a continuous
/// learned prompt adds a last frame, "prompt_vectors" F32 `[triggers, H]`: the vectors that token ids
/// `vocabulary + k` stand for.
struct LoadedWeights {
    let jobID: String
    let config: ModelConfig
    let pooling: Pooling
    let maskTokenID: Int32
    let parameters: Parameters
    let promptVectors: [Float]?

    static let promptVectorsName = "prompt_vectors"
    /// Token ids a batch may use: the vocabulary, then one per prompt vector.
    var tokenLimit: Int { config.vocabSize + (promptVectors?.count ?? 0) / config.hiddenSize }

    /// `names`: the tensor frames the request must carry ("parameters" first).
    init(_ request: Relbert_V1_LoadRequest, tensors: [ZMQFrame], names: [String]) throws(ProtocolError) {
        guard !request.jobID.isEmpty, request.jobID.utf8.count <= 128 else {
            throw ProtocolError(.invalidArgument, "worker.Load: a job id of 1-128 bytes is required")
        }
        let config: ModelConfig
        do {
            config = try ModelConfig.parse(Data(request.configJson.utf8), source: "worker.Load config_json")
        } catch {
            throw ProtocolError(.invalidArgument, error.description)
        }
        guard let pooling = Pooling(rawValue: request.pooling) else {
            throw ProtocolError(.invalidArgument, "worker.Load: unknown pooling '\(request.pooling)'")
        }
        guard request.maskTokenID >= 0, Int(request.maskTokenID) < config.vocabSize else {
            throw ProtocolError(.invalidArgument, "worker.Load: mask token id \(request.maskTokenID) outside the vocabulary")
        }
        var specs = request.tensors, frames = tensors
        var promptVectors: [Float]?
        if specs.last?.name == Self.promptVectorsName, frames.count == specs.count {
            promptVectors = try Self.promptVectors(specs.removeLast(), frames.removeLast(), hidden: config.hiddenSize)
        }
        let layout = ParameterLayout(config: config)
        let total = layout.totalCount
        try TensorFrames.validate(frames, against: specs, expecting: names, maxElements: total)
        for spec in specs where spec.dtype != .f32 || spec.shape != [UInt64(total)] {
            throw ProtocolError(.invalidArgument, "worker.Load: tensor \(spec.name) must be F32 [\(total)] for this config")
        }
        let parameters = Parameters(layout: layout)
        TensorFrames.readFloats(frames[0], dtype: .f32, into: parameters.pointer, count: total)
        if request.parametersChecksum != 0 {
            let sum = ParameterChecksum.of(parameters.pointer, count: total)
            guard sum == request.parametersChecksum else {
                throw ProtocolError(.dataLoss, "worker.Load: the parameters arrived damaged (checksum \(sum), expected \(request.parametersChecksum))")
            }
        }
        self.jobID = request.jobID
        self.config = config
        self.pooling = pooling
        self.maskTokenID = request.maskTokenID
        self.parameters = parameters
        self.promptVectors = promptVectors
    }

    /// The "prompt_vectors" frame: F32 `[1...256, H]`, every value finite.
    static func promptVectors(_ spec: Relbert_V1_TensorSpec, _ frame: ZMQFrame, hidden: Int) throws(ProtocolError) -> [Float] {
        try TensorFrames.validate([frame], against: [spec], expecting: [promptVectorsName], maxElements: 256 * hidden)
        guard spec.dtype == .f32, spec.shape.count == 2, (1 ... 256).contains(spec.shape[0]), spec.shape[1] == UInt64(hidden) else {
            throw ProtocolError(.invalidArgument, "prompt_vectors must be F32 [1...256, \(hidden)]")
        }
        var vectors = [Float](repeating: 0, count: Int(spec.shape[0]) * hidden)
        vectors.withUnsafeMutableBufferPointer { TensorFrames.readFloats(frame, dtype: .f32, into: $0.baseAddress!, count: $0.count) }
        guard vectors.allSatisfy(\.isFinite) else {
            throw ProtocolError(.invalidArgument, "prompt_vectors holds values that are not finite")
        }
        return vectors
    }
}
