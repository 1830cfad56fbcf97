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
    /// The step and sequence count of the last forward pass (what a backward pass must match).
    private var lastForward: (step: UInt64, sequences: Int)?
    /// The step the next update must be for: updates arrive in order, none repeated, none skipped.
    private(set) var nextUpdateStep: UInt64
    /// Seconds the last update took, reported with the next forward pass.
    private var lastUpdateSeconds = 0.0

    /// Builds the replica from a `worker.Load` request.
    init(load request: Relbert_V1_LoadRequest, tensors: [ZMQFrame]) throws(ProtocolError) {
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
        let withMoments = request.tensors.count == 3
        let names = withMoments ? ["parameters", "adam_m", "adam_v"] : ["parameters"]
        try TensorFrames.validate(tensors, against: request.tensors, expecting: names, maxElements: total)
        for spec in request.tensors where spec.dtype != .f32 || spec.shape != [UInt64(total)] {
            throw ProtocolError(.invalidArgument, "worker.Load: tensor \(spec.name) must be F32 [\(total)] for this config")
        }
        self.jobID = request.jobID
        self.config = config
        parameters = Parameters(layout: layout)
        TensorFrames.readFloats(tensors[0], dtype: .f32, into: parameters.pointer, count: total)
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
        if request.parametersChecksum != 0 {
            let sum = ParameterChecksum.of(parameters.pointer, count: total)
            guard sum == request.parametersChecksum else {
                throw ProtocolError(.dataLoss, "worker.Load: the parameters arrived damaged (checksum \(sum), expected \(request.parametersChecksum))")
            }
        }
        codec = GradientCodec(config: config, layout: layout)
        nextUpdateStep = request.adamStep
        shard = ShardWorker(encoder: Encoder(config: config, parameters: parameters), pooling: pooling,
                            maskTokenID: request.maskTokenID)
    }

    func checkJob(_ id: String, _ method: String) throws(ProtocolError) {
        guard id == jobID else {
            throw ProtocolError(.failedPrecondition, "\(method): this worker holds job \(jobID), not \(id)")
        }
    }

    /// Phase 1: the pooled embeddings of one shard.
    func forward(_ request: Relbert_V1_ForwardRequest, tensors: [ZMQFrame]) throws(ProtocolError) -> Envelope.Parts {
        try checkJob(request.jobID, Method.forward)
        try TensorFrames.validate(tensors, against: request.tensors, expecting: ["token_ids", "lengths"],
                                  maxElements: 1 << 22)
        guard request.tensors.allSatisfy({ $0.dtype == .i32 && $0.shape.count == 1 }) else {
            throw ProtocolError(.invalidArgument, "worker.Forward: token_ids and lengths must be I32 vectors")
        }
        if request.parametersChecksum != 0 {
            let sum = ParameterChecksum.of(parameters.pointer, count: parameters.layout.totalCount)
            guard sum == request.parametersChecksum else {
                throw ProtocolError(.dataLoss, "worker.Forward: this replica's weights differ from the coordinator's (checksum \(sum), expected \(request.parametersChecksum))")
            }
        }
        let ids = TensorFrames.readInt32s(tensors[0])
        let lengths = TensorFrames.readInt32s(tensors[1])
        var sequences: [[Int32]] = []
        sequences.reserveCapacity(lengths.count)
        var start = 0
        for length in lengths {
            guard length >= 1, Int(length) <= config.maxSequenceLength, start + Int(length) <= ids.count else {
                throw ProtocolError(.invalidArgument, "worker.Forward: sequence lengths must be 1...\(config.maxSequenceLength) and add up to the token count")
            }
            sequences.append(Array(ids[start ..< start + Int(length)]))
            start += Int(length)
        }
        guard start == ids.count, !sequences.isEmpty else {
            throw ProtocolError(.invalidArgument, "worker.Forward: lengths add up to \(start), token_ids has \(ids.count)")
        }
        guard ids.allSatisfy({ $0 >= 0 && Int($0) < config.vocabSize }) else {
            throw ProtocolError(.invalidArgument, "worker.Forward: token ids must be in 0..<\(config.vocabSize)")
        }
        let dropout: DropoutSettings? = request.hasDropout ? DropoutSettings(
            hidden: request.dropout.hidden, attention: request.dropout.attention, seed: request.dropout.seed,
            step: request.dropout.step,
            exampleIDs: (0 ..< UInt64(sequences.count)).map { request.firstExample + $0 }) : nil
        if let dropout, !((0 ..< 1).contains(dropout.hidden) && (0 ..< 1).contains(dropout.attention)) {
            throw ProtocolError(.invalidArgument, "worker.Forward: dropout must be in [0, 1)")
        }
        let h = config.hiddenSize
        let started = ContinuousClock.now
        let embeddings = FloatBuffer(count: sequences.count * h)
        let failed = shard.forward(TokenBatch(sequences: sequences), dropout: dropout, into: embeddings.pointer)
        lastForward = (request.step, sequences.count)
        var reply = Relbert_V1_ForwardReply()
        reply.tensors = [TensorFrames.spec("embeddings", .f32, [sequences.count, h])]
        if let failed { reply.unpoolableSequence = UInt32(failed + 1) }
        reply.computeSeconds = (ContinuousClock.now - started).secondsValue
        reply.updateSeconds = lastUpdateSeconds
        lastUpdateSeconds = 0
        return Envelope.Parts(message: reply, tensors: [TensorFrames.floats(embeddings.pointer, count: sequences.count * h)])
    }

    /// Phase 2: the gradient of the last forward shard given dLoss/dEmbedding.
    func backward(_ request: Relbert_V1_BackwardRequest, tensors: [ZMQFrame]) throws(ProtocolError) -> Envelope.Parts {
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
        shard.backward(dEmbeddings: dE.pointer)
        lastForward = nil
        let (specs, frames) = codec.encode(shard.gradients.pointer, rows: Array(shard.touchedTokens), bf16: request.bf16)
        shard.clearGradients()
        var reply = Relbert_V1_BackwardReply()
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
