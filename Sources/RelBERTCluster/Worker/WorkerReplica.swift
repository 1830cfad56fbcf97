import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// A worker's copy of a job's model: its weights, the encoder shard that runs both phases of a
/// step, and a replica of the optimizer that applies the coordinator's summed gradient, so the
/// weights stay bit-identical to the coordinator's master copy without ever being resent.
final class WorkerReplica: @unchecked Sendable {
    let jobID: String
    let config: ModelConfig
    let parameters: Parameters
    let shard: ShardWorker
    let optimizer: AdamW
    let codec: GradientCodec
    /// Token ids a forward batch may use (the vocabulary, plus a continuous prompt's trigger ids).
    let tokenLimit: Int
    /// The step and sequence count of the last forward pass (what a backward pass must match).
    /// The prompt rows (K) of its "prompt_vectors", 0 without.
    private var lastForward: (step: UInt64, sequences: Int, promptRows: Int)?
    /// The step the next update must be for: updates arrive in order, none repeated, none skipped.
    private(set) var nextUpdateStep: UInt64
    /// Seconds the last update took, reported with the next forward pass.
    private var lastUpdateSeconds = 0.0

    /// Builds the replica from a `worker.Load` request.
    init(load request: Relbert_V1_LoadRequest, tensors: [ZMQFrame]) throws(ProtocolError) {
        let withMoments = request.tensors.contains { $0.name == "adam_m" }
        let weights = try LoadedWeights(request, tensors: tensors,
                                        names: withMoments ? ["parameters", "adam_m", "adam_v"] : ["parameters"])
        let config = weights.config
        let layout = weights.parameters.layout
        let total = layout.totalCount
        self.jobID = weights.jobID
        self.config = config
        parameters = weights.parameters
        let adam = request.adam
        optimizer = AdamW(parameterCount: total, settings: AdamW.Settings(beta1: adam.beta1, beta2: adam.beta2,
                                                                          epsilon: adam.epsilon, weightDecay: adam.weightDecay))
        if withMoments {
            let m = FloatBuffer(count: total), v = FloatBuffer(count: total)
            TensorFrames.readFloats(tensors[1], dtype: .f32, into: m.pointer, count: total)
            TensorFrames.readFloats(tensors[2], dtype: .f32, into: v.pointer, count: total)
            optimizer.restore(step: Int(request.adamStep), first: m.pointer, second: v.pointer)
        } else if request.adamStep != 0 {
            throw ProtocolError(.invalidArgument, "worker.Load: adam_step \(request.adamStep) without the moments adam_m and adam_v")
        }
        codec = GradientCodec(config: config, layout: layout)
        nextUpdateStep = request.adamStep
        tokenLimit = weights.tokenLimit
        shard = ShardWorker(encoder: Encoder(config: config, parameters: parameters), pooling: weights.pooling,
                            maskTokenID: weights.maskTokenID, promptVectors: weights.promptVectors)
    }

    func checkJob(_ id: String, _ method: String) throws(ProtocolError) {
        guard id == jobID else {
            throw ProtocolError(.failedPrecondition, "\(method): this worker holds job \(jobID), not \(id)")
        }
    }

    /// Phase 1: the pooled embeddings of one shard.
    func forward(_ request: Relbert_V1_ForwardRequest, tensors: [ZMQFrame]) throws(ProtocolError) -> Envelope.Parts {
        try checkJob(request.jobID, Method.forward)
        let (batch, promptVectors) = try TokenBatchFrames.batchWithPrompt(tensors, specs: request.tensors, config: config,
                                                                          tokenLimit: tokenLimit, method: Method.forward)
        if request.parametersChecksum != 0 {
            let sum = ParameterChecksum.of(parameters.pointer, count: parameters.layout.totalCount)
            guard sum == request.parametersChecksum else {
                throw ProtocolError(.dataLoss, "worker.Forward: this replica's weights differ from the coordinator's (checksum \(sum), expected \(request.parametersChecksum))")
            }
        }
        let dropout: DropoutSettings? = request.hasDropout ? DropoutSettings(
            hidden: request.dropout.hidden, attention: request.dropout.attention, seed: request.dropout.seed,
            step: request.dropout.step,
            exampleIDs: (0 ..< UInt64(batch.sequenceCount)).map { request.firstExample + $0 }) : nil
        if let dropout, !((0 ..< 1).contains(dropout.hidden) && (0 ..< 1).contains(dropout.attention)) {
            throw ProtocolError(.invalidArgument, "worker.Forward: dropout must be in [0, 1)")
        }
        let h = config.hiddenSize
        let started = ContinuousClock.now
        let sequences = batch.sequenceCount
        let embeddings = FloatBuffer(count: sequences * h)
        let failed = shard.forward(batch, dropout: dropout, promptVectors: promptVectors, into: embeddings.pointer)
        lastForward = (request.step, sequences, (promptVectors?.count ?? 0) / h)
        var reply = Relbert_V1_ForwardReply()
        reply.tensors = [TensorFrames.spec("embeddings", .f32, [sequences, h])]
        if let failed { reply.unpoolableSequence = UInt32(failed + 1) }
        reply.computeSeconds = (ContinuousClock.now - started).secondsValue
        reply.updateSeconds = lastUpdateSeconds
        lastUpdateSeconds = 0
        return Envelope.Parts(message: reply, tensors: [TensorFrames.floats(embeddings.pointer, count: sequences * h)])
    }

    /// Phase 2: the gradient of the last forward shard given dLoss/dEmbedding. With `request.stream`,
    /// each encoder layer's gradient goes to `sendBucket` as soon as it is complete (last layer first),
    /// and the returned final reply carries the rest.
    func backward(_ request: Relbert_V1_BackwardRequest, tensors: [ZMQFrame],
                  sendBucket: @escaping (Envelope.Parts) -> Void = { _ in }) throws(ProtocolError) -> Envelope.Parts {
        try checkJob(request.jobID, Method.backward)
        guard let last = lastForward, last.step == request.step else {
            throw ProtocolError(.failedPrecondition, "worker.Backward: no forward pass of step \(request.step) to go back through")
        }
        let h = config.hiddenSize
        try TensorFrames.validate(tensors, against: request.tensors, expecting: ["d_embeddings"], maxElements: last.sequences * h)
        guard request.tensors[0].dtype == .f32, request.tensors[0].shape == [UInt64(last.sequences), UInt64(h)] else {
            throw ProtocolError(.invalidArgument, "worker.Backward: d_embeddings must be F32 [\(last.sequences), \(h)]")
        }
        let started = ContinuousClock.now
        let dE = FloatBuffer(count: last.sequences * h)
        TensorFrames.readFloats(tensors[0], dtype: .f32, into: dE.pointer, count: last.sequences * h)
        var reply = Relbert_V1_BackwardReply()
        if request.promptGradient {
            // A prompt search: only dLoss/d(prompt vectors) travels (the weights are frozen).
            guard last.promptRows > 0 else {
                throw ProtocolError(.failedPrecondition, "worker.Backward: prompt_gradient asked, but the forward pass of step \(request.step) had no prompt_vectors")
            }
            let dVectors = FloatBuffer(count: last.promptRows * h)
            shard.backward(dEmbeddings: dE.pointer, dPromptVectors: dVectors.pointer, weightGradients: false)
            lastForward = nil
            shard.clearGradients()
            reply.tensors = [TensorFrames.spec("d_prompt_vectors", .f32, [last.promptRows, h])]
            reply.computeSeconds = (ContinuousClock.now - started).secondsValue
            return Envelope.Parts(message: reply, tensors: [TensorFrames.floats(dVectors.pointer, count: dVectors.count)])
        }
        if request.stream {
            let gradients = UnsafePointer(shard.gradients.pointer)
            shard.backward(dEmbeddings: dE.pointer) { [codec] layer in
                let (spec, frame) = codec.encodeLayer(gradients, layer: layer, bf16: request.bf16)
                var bucket = Relbert_V1_BackwardReply()
                bucket.bucketOffset = UInt64(codec.layerRange(layer).lowerBound)
                bucket.tensors = [spec]
                sendBucket(Envelope.Parts(message: bucket, tensors: [frame]))
            }
        } else {
            shard.backward(dEmbeddings: dE.pointer)
        }
        lastForward = nil
        let (specs, frames) = codec.encode(shard.gradients.pointer, rows: Array(shard.touchedTokens), bf16: request.bf16,
                                           streamed: request.stream)
        shard.clearGradients()
        reply.tensors = specs
        reply.computeSeconds = (ContinuousClock.now - started).secondsValue
        return Envelope.Parts(message: reply, tensors: frames)
    }

    /// The replicated optimizer step: the summed gradient in, the same AdamW update as the master.
    func update(_ request: Relbert_V1_UpdateRequest, tensors: [ZMQFrame]) throws(ProtocolError) {
        try checkJob(request.jobID, Method.update)
        guard request.step == nextUpdateStep else {
            throw ProtocolError(.failedPrecondition, "worker.Update: step \(request.step) arrived, step \(nextUpdateStep) was due")
        }
        guard request.learningRate.isFinite, request.learningRate >= 0 else {
            throw ProtocolError(.invalidArgument, "worker.Update: the learning rate must be finite and not negative")
        }
        let started = ContinuousClock.now
        defer { lastUpdateSeconds = (ContinuousClock.now - started).secondsValue }
        // The gradient buffer is clear between steps (backward clears it after encoding).
        let rows = try codec.add(tensors, specs: request.tensors, into: shard.gradients.pointer, overwrite: true)
        shard.markTouched(Set(rows))
        optimizer.update(parameters: parameters.pointer, gradients: shard.gradients.pointer,
                         count: parameters.layout.totalCount, learningRate: request.learningRate)
        shard.clearGradients()
        nextUpdateStep = request.step + 1
    }
}
