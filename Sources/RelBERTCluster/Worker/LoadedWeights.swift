import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// What every worker.Load carries, checked: the job id, the model's config, its pooling and mask
/// token, and the weights (the "parameters" frame, verified against the request's checksum). The
/// training replica also reads the optimizer moments that may follow.
struct LoadedWeights {
    let jobID: String
    let config: ModelConfig
    let pooling: Pooling
    let maskTokenID: Int32
    let parameters: Parameters

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
        let layout = ParameterLayout(config: config)
        let total = layout.totalCount
        try TensorFrames.validate(tensors, against: request.tensors, expecting: names, maxElements: total)
        for spec in request.tensors where spec.dtype != .f32 || spec.shape != [UInt64(total)] {
            throw ProtocolError(.invalidArgument, "worker.Load: tensor \(spec.name) must be F32 [\(total)] for this config")
        }
        let parameters = Parameters(layout: layout)
        TensorFrames.readFloats(tensors[0], dtype: .f32, into: parameters.pointer, count: total)
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
    }
}
