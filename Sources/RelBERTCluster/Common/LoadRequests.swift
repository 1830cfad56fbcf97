import RelBERT
import RelBERTProtocol
import ZeroMQ

extension Relbert_V1_LoadRequest {
    /// The part of a worker.Load that every model shares: the job id, the model's config verbatim,
    /// the pooling and mask token, and the weights as one F32 frame with their checksum. Training
    /// adds the optimizer; serving sets `inference`. Call ``appendPromptVectors(of:to:)`` last.
    static func weights(jobID: String, model: PretrainedModel, pooling: Pooling, parameters: Parameters,
                        checksum: UInt64) -> (Relbert_V1_LoadRequest, [ZMQFrame]) {
        var request = Relbert_V1_LoadRequest()
        request.jobID = jobID
        request.configJson = String(decoding: model.originalConfigJSON, as: UTF8.self)
        request.pooling = pooling.rawValue
        request.maskTokenID = model.tokenizer.maskTokenID
        let total = parameters.layout.totalCount
        request.tensors = [TensorFrames.spec("parameters", .f32, [total])]
        request.parametersChecksum = checksum
        return (request, [TensorFrames.floats(parameters.pointer, count: total)])
    }

    /// Adds the "prompt_vectors" frame (last) when `model` has a continuous learned prompt: the vectors
    /// that the token ids past the vocabulary stand for.
    mutating func appendPromptVectors(of model: PretrainedModel, to frames: inout [ZMQFrame]) {
        guard let prompt = model.prompt, prompt.kind == .continuous else { return }
        tensors.append(TensorFrames.spec(LoadedWeights.promptVectorsName, .f32, [prompt.shape.triggerCount, model.config.hiddenSize]))
        prompt.vectors.withUnsafeBufferPointer { frames.append(TensorFrames.floats($0.baseAddress!, count: $0.count)) }
    }
}
