import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// A worker's copy of a served model: the weights and an encoder with inference-only activations
/// (no caches for a backward pass), answering worker.Embed. It runs exactly what one thread of
/// ``RelationEmbedder`` runs, so served vectors equal offline ones.
final class InferenceReplica: @unchecked Sendable {
    let jobID: String
    let config: ModelConfig
    let maskTokenID: Int32
    /// The vectors of a continuous learned prompt, read for token ids from the vocabulary size on.
    let promptVectors: [Float]?
    let tokenLimit: Int
    private let encoder: Encoder
    private let activations: EncoderActivations

    /// Builds the replica from a `worker.Load` request with `inference` set.
    init(load request: Relbert_V1_LoadRequest, tensors: [ZMQFrame]) throws(ProtocolError) {
        let weights = try LoadedWeights(request, tensors: tensors, names: ["parameters"])
        jobID = weights.jobID
        config = weights.config
        maskTokenID = weights.maskTokenID
        promptVectors = weights.promptVectors
        tokenLimit = weights.tokenLimit
        encoder = Encoder(config: weights.config, parameters: weights.parameters)
        activations = EncoderActivations(config: weights.config, keepsAllLayers: false)
    }

    var parameterCount: Int { encoder.parameters.layout.totalCount }

    /// The pooled embeddings of one batch.
    func embed(_ request: Relbert_V1_WorkerEmbedRequest, tensors: [ZMQFrame]) throws(ProtocolError) -> Envelope.Parts {
        guard request.jobID == jobID else {
            throw ProtocolError(.failedPrecondition, "worker.Embed: this worker serves \(jobID), not \(request.jobID)")
        }
        guard let pooling = Pooling(rawValue: request.pooling) else {
            throw ProtocolError(.invalidArgument, "worker.Embed: unknown pooling '\(request.pooling)'")
        }
        let batch = try TokenBatchFrames.batch(tensors, specs: request.tensors, config: config, tokenLimit: tokenLimit, method: Method.embed)
        let h = config.hiddenSize
        let started = ContinuousClock.now
        let embeddings = FloatBuffer(count: batch.sequenceCount * h)
        if let promptVectors {
            promptVectors.withUnsafeBufferPointer { encoder.forward(batch, activations: activations, promptVectors: $0.baseAddress) }
        } else {
            encoder.forward(batch, activations: activations)
        }
        let failed = pooling.pool(batch: batch, states: activations.lastHiddenState.pointer, maskTokenID: maskTokenID,
                                  hidden: h, out: embeddings.pointer)
        var reply = Relbert_V1_WorkerEmbedReply()
        reply.tensors = [TensorFrames.spec("embeddings", .f32, [batch.sequenceCount, h])]
        if let failed { reply.unpoolableSequence = UInt32(failed + 1) }
        reply.computeSeconds = (ContinuousClock.now - started).secondsValue
        return Envelope.Parts(message: reply, tensors: [TensorFrames.floats(embeddings.pointer, count: batch.sequenceCount * h)])
    }
}
