import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// Runs a job's training steps on the cluster's workers: the ``StepExecutor`` a coordinator's
/// ``TrainingRun`` uses. One step:
/// 1. every live, loaded worker gets a shard (sequence ranges balanced by tokens, in rank order) and
///    returns its pooled embeddings (worker.Forward);
/// 2. the coordinator computes the loss over the whole batch and sends each shard its
///    dLoss/dEmbedding (worker.Backward); the gradients come back and are summed in shard order;
/// 3. clipping and AdamW update the master weights, and every worker gets the summed gradient
///    (worker.Update) to apply the identical update to its replica.
/// A worker lost in the middle of a step makes the step start again on the others; since every
/// example's dropout mask depends only on (seed, step, example), the result is the same up to the
/// order of float summation.
public final class ClusterTrainer: StepExecutor {
    unowned let coordinator: Coordinator
    let jobID: String
    let model: PretrainedModel
    let pooling: Pooling
    let settings: LocalTrainer.Settings
    private let master: Parameters
    private let adam: AdamW
    /// The master copy's AdamW update of the last step runs on this thread at the lowest priority,
    /// alongside the workers' forward pass and the next step's first messages, so that on a shared
    /// machine it takes the cores' idle moments rather than the workers' time. Anything that reads
    /// the master weights or moments, or writes the gradient buffer the update reads, waits for it.
    private let masterUpdates = IdlePriorityThread(name: "relbert.master-update")

    /// The master weights, with every step applied.
    public var parameters: Parameters {
        finishMasterUpdate()
        return master
    }

    /// The optimizer of the master copy, with every step applied.
    public var optimizer: AdamW {
        finishMasterUpdate()
        return adam
    }

    private func startMasterUpdate(learningRate: Float) {
        let adam = adam, master = master, gradients = gradients
        masterUpdates.start { [unowned self] in
            let started = ContinuousClock.now
            adam.update(parameters: master.pointer, gradients: gradients.pointer, count: master.layout.totalCount,
                        learningRate: learningRate, threads: 1)
            masterUpdateSeconds = (ContinuousClock.now - started).secondsValue
        }
    }

    private func finishMasterUpdate() {
        masterUpdates.wait()
        statistics.secondsMasterUpdate += masterUpdateSeconds
        masterUpdateSeconds = 0
    }

    /// Written by the update thread, read after `masterUpdates.wait()`.
    private var masterUpdateSeconds = 0.0

    deinit { masterUpdates.stop() }
    let codec: GradientCodec
    private let gradients: FloatBuffer
    private var embeddings = FloatBuffer(count: 0)
    private var dEmbeddings = FloatBuffer(count: 0)
    public var summationKey: Int { 0 }
    /// What the steps so far cost: bytes each way and where the time went.
    public private(set) var statistics = Statistics()

    public struct Statistics: Sendable {
        public var steps = 0
        /// Payload bytes (tensor frames) sent to and received from workers.
        public var bytesSent = 0
        public var bytesReceived = 0
        public var secondsInStep = 0.0
        /// Per phase, the slowest shard's own compute time (as the workers report it, the replica's
        /// optimizer update included), summed.
        public var secondsWorkerCompute = 0.0
        /// The coordinator's own arithmetic on the step's critical path: loss, gradient sum, clipping.
        public var secondsCoordinatorCompute = 0.0
        /// The master copy's AdamW update, which runs at the lowest priority beside the workers' next
        /// forward pass (on the critical path only as far as it competes with them for cores).
        public var secondsMasterUpdate = 0.0
        /// Summing streamed layer buckets while the workers still run their backward pass (on the
        /// critical path only as far as it competes with them for cores).
        public var secondsSummingDuringBackward = 0.0
        /// What is left of a step: messages on the wire, serialization, waiting.
        public var secondsCommunicating: Double { max(0, secondsInStep - secondsWorkerCompute - secondsCoordinatorCompute) }
    }

    public func resetStatistics() { statistics = Statistics() }

    init(coordinator: Coordinator, jobID: String, model: PretrainedModel, pooling: Pooling,
         optimizer: AdamW.Settings, settings: LocalTrainer.Settings) {
        self.coordinator = coordinator
        self.jobID = jobID
        self.model = model
        self.pooling = pooling
        self.settings = settings
        master = model.parameters
        adam = AdamW(parameterCount: model.parameters.layout.totalCount, settings: optimizer)
        codec = GradientCodec(config: model.config, layout: model.parameters.layout)
        gradients = FloatBuffer(count: model.parameters.layout.totalCount)
    }

    var hidden: Int { model.config.hiddenSize }

    // MARK: - StepExecutor

    public func train(_ batch: StepBatch, step: Int, learningRate: Float) throws -> StepResult {
        let started = ContinuousClock.now
        defer { statistics.secondsInStep += (ContinuousClock.now - started).secondsValue; statistics.steps += 1 }
        let tokenBatch = TokenBatch(sequences: batch.sequences)
        return try onLiveWorkers("step \(step)") { peers in
            let loss = try forwardBackward(batch, tokenBatch, step: step, peers: peers)
            let arithmetic = ContinuousClock.now
            let total = parameters.layout.totalCount
            let norm = settings.maxGradientNorm.map { GradientClipping.clip(gradients.pointer, count: total, maxNorm: $0) }
                ?? GradientClipping.norm(gradients.pointer, count: total)
            // The workers apply this update to their replicas; the master's runs on the low-priority
            // thread until the next step's gradient sum (or anyone reading the master) needs it done.
            statistics.secondsCoordinatorCompute += (ContinuousClock.now - arithmetic).secondsValue
            broadcastUpdate(step: step, learningRate: learningRate)
            startMasterUpdate(learningRate: learningRate)
            return StepResult(loss: loss, gradientNorm: norm, learningRate: learningRate,
                              sequences: tokenBatch.sequenceCount, tokens: tokenBatch.tokenCount)
        }
    }

    public func evaluate(_ batch: StepBatch) throws -> Float {
        let tokenBatch = TokenBatch(sequences: batch.sequences)
        return try onLiveWorkers("evaluation") { peers in
            try forward(tokenBatch, step: nil, peers: peers)
            return batch.loss(embeddings: embeddings.pointer, dimension: hidden, gradient: nil)
        }
    }

    /// Runs `body` on the workers that are ready; when a worker is lost or fails during it, runs it
    /// again on those left (up to 20 times).
    private func onLiveWorkers<T>(_ what: String, _ body: ([WorkerRegistry.Peer]) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let peers = try readyPeers()
            do {
                return try body(peers)
            } catch let failure as StepFailure {
                coordinator.log("\(what), attempt \(attempt): \(failure.description); redoing it on the workers left")
                if attempt >= 20 { throw ClusterError.noWorkers("\(what) failed \(attempt) times; last: \(failure.description)") }
            }
        }
    }

    // MARK: - Workers

    /// The workers that hold this job's current weights, in rank order. Sends the weights to any
    /// worker that does not have them yet and waits for every such load to finish (or fail), and
    /// for at least one worker.
    private func readyPeers() throws -> [WorkerRegistry.Peer] {
        var waitingSince = ContinuousClock.now
        var loads: [UInt64: [UInt8]] = [:]
        while true {
            if coordinator.cancelRequested.contains(jobID) { throw ClusterError.cancelled }
            for peer in coordinator.registry.byRank where peer.attachedJob != jobID && peer.refusedJob != jobID {
                loads[sendLoad(to: peer.identity)] = peer.identity
            }
            for (id, identity) in loads {
                if let reply = coordinator.replies.removeValue(forKey: id) {
                    loads[id] = nil
                    if reply.isOK {
                        coordinator.registry.markLoaded(identity, job: jobID)
                    } else {
                        coordinator.log("worker rank \(coordinator.registry.peer(identity)?.rank ?? 0) could not load job \(jobID): \(reply.statusError!); it sits this job out")
                        coordinator.registry.markRefused(identity, job: jobID)
                    }
                } else if coordinator.registry.peer(identity) == nil {
                    loads[id] = nil
                    coordinator.inFlight[id] = nil
                }
            }
            let ready = coordinator.registry.byRank.filter { $0.attachedJob == jobID && $0.loaded }
            if loads.isEmpty, !ready.isEmpty { return ready }
            if ContinuousClock.now - waitingSince > .seconds(30) {
                coordinator.log("job \(jobID) is waiting for workers (\(ready.count) ready, \(loads.count) loading)")
                waitingSince = .now
            }
            try coordinator.pump(timeoutMilliseconds: 20)
        }
    }

    /// worker.Load with the current master weights (and optimizer moments once there are any).
    private func sendLoad(to identity: [UInt8]) -> UInt64 {
        let total = parameters.layout.totalCount
        var (request, tensors) = Relbert_V1_LoadRequest.weights(
            jobID: jobID, model: model, pooling: pooling, parameters: parameters,
            checksum: ParameterChecksum.of(parameters.pointer, count: total))
        var adam = Relbert_V1_AdamSettings()
        adam.beta1 = optimizer.settings.beta1
        adam.beta2 = optimizer.settings.beta2
        adam.epsilon = optimizer.settings.epsilon
        adam.weightDecay = optimizer.settings.weightDecay
        request.adam = adam
        request.adamStep = UInt64(optimizer.step)
        if optimizer.step > 0 {
            tensors += [TensorFrames.floats(optimizer.firstMoment.pointer, count: total),
                        TensorFrames.floats(optimizer.secondMoment.pointer, count: total)]
            request.tensors += [TensorFrames.spec("adam_m", .f32, [total]), TensorFrames.spec("adam_v", .f32, [total])]
        }
        request.appendPromptVectors(of: model, to: &tensors)
        coordinator.registry.attach(identity, job: jobID)
        let id = coordinator.request(Method.load, request, tensors: tensors, to: identity)
        let rank = coordinator.registry.peer(identity)?.rank ?? 0
        coordinator.log("sending job \(jobID)'s weights to worker rank \(rank) (optimizer step \(optimizer.step))")
        return id
    }

    // MARK: - The step

    struct StepFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Phase 1 on every shard: fills `embeddings`. Returns the shards (sequence range, worker).
    @discardableResult
    private func forward(_ tokenBatch: TokenBatch, step: Int?, peers: [WorkerRegistry.Peer],
                         promptVectors: (pointer: UnsafePointer<Float>, rows: Int)? = nil) throws -> [(Range<Int>, [UInt8])] {
        let n = tokenBatch.sequenceCount, h = hidden
        if embeddings.count < n * h { embeddings = FloatBuffer(count: n * h) }
        let ranges = tokenBatch.balancedSplit(into: min(peers.count, n)).filter { !$0.isEmpty }
        let shards = ranges.enumerated().map { ($0.element, peers[$0.offset].identity) }
        let checksum = step.map { coordinator.options.checksumEvery > 0 && $0 % coordinator.options.checksumEvery == 0 } ?? false
            ? ParameterChecksum.of(parameters.pointer, count: parameters.layout.totalCount) : 0
        var requests: [(UInt64, [UInt8])] = []
        for (range, identity) in shards {
            let slice = tokenBatch.slice(range)
            var request = Relbert_V1_ForwardRequest()
            request.jobID = jobID
            request.step = UInt64(step ?? 0)
            request.firstExample = UInt64(range.lowerBound)
            if let step {
                var dropout = Relbert_V1_DropoutSettings()
                dropout.hidden = settings.hiddenDropout
                dropout.attention = settings.attentionDropout
                dropout.seed = settings.seed
                dropout.step = UInt64(step)
                request.dropout = dropout
            }
            request.parametersChecksum = checksum
            var (specs, frames) = TokenBatchFrames.encode(slice)
            if let promptVectors {
                specs.append(TensorFrames.spec(LoadedWeights.promptVectorsName, .f32, [promptVectors.rows, h]))
                frames.append(TensorFrames.floats(promptVectors.pointer, count: promptVectors.rows * h))
            }
            request.tensors = specs
            statistics.bytesSent += frames.reduce(0) { $0 + $1.count }
            requests.append((coordinator.request(Method.forward, request, tensors: frames, to: identity), identity))
        }
        let replies = try collect(requests)
        var slowest = 0.0
        for (index, (range, identity)) in shards.enumerated() {
            let reply = replies[index]
            let body: Relbert_V1_ForwardReply
            do {
                body = try reply.body(as: Relbert_V1_ForwardReply.self)
                try TensorFrames.validate(reply.tensors, against: body.tensors, expecting: ["embeddings"], maxElements: range.count * h)
            } catch {
                coordinator.registry.attach(identity, job: nil)   // reload it before it serves again
                throw StepFailure(description: "a worker's forward reply is malformed: \(error)")
            }
            guard body.tensors[0].dtype == .f32, body.tensors[0].shape == [UInt64(range.count), UInt64(h)] else {
                coordinator.registry.attach(identity, job: nil)
                throw StepFailure(description: "a worker returned embeddings of shape \(body.tensors[0].shape)")
            }
            if body.unpoolableSequence > 0 {
                throw TrainingError.maskTruncated(sequence: range.lowerBound + Int(body.unpoolableSequence) - 1)
            }
            statistics.bytesReceived += reply.tensors[0].count
            slowest = max(slowest, body.computeSeconds + body.updateSeconds)
            TensorFrames.readFloats(reply.tensors[0], dtype: .f32, into: embeddings.pointer + range.lowerBound * h, count: range.count * h)
        }
        statistics.secondsWorkerCompute += slowest
        return shards
    }

    /// Phases 1 and 2: afterwards `gradients` holds the step's summed gradient.
    private func forwardBackward(_ batch: StepBatch, _ tokenBatch: TokenBatch, step: Int, peers: [WorkerRegistry.Peer]) throws -> Float {
        let shards = try forward(tokenBatch, step: step, peers: peers)
        let n = tokenBatch.sequenceCount, h = hidden
        if dEmbeddings.count < n * h { dEmbeddings = FloatBuffer(count: n * h) }
        let lossStarted = ContinuousClock.now
        dEmbeddings.pointer.update(repeating: 0, count: n * h)
        let loss = batch.loss(embeddings: embeddings.pointer, dimension: h, gradient: dEmbeddings.pointer)
        statistics.secondsCoordinatorCompute += (ContinuousClock.now - lossStarted).secondsValue
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step) }
        let streamed = coordinator.options.streamGradients
        var requests: [(UInt64, [UInt8])] = []
        for (range, identity) in shards {
            var request = Relbert_V1_BackwardRequest()
            request.jobID = jobID
            request.step = UInt64(step)
            request.bf16 = coordinator.options.bf16Gradients
            request.stream = streamed
            request.tensors = [TensorFrames.spec("d_embeddings", .f32, [range.count, h])]
            let frame = TensorFrames.floats(dEmbeddings.pointer + range.lowerBound * h, count: range.count * h)
            statistics.bytesSent += frame.count
            requests.append((coordinator.request(Method.backward, request, tensors: [frame], to: identity), identity))
        }
        finishMasterUpdate()   // it reads the gradient buffer the shards' parts are about to overwrite
        // Only the word rows of the last step are non-zero outside the dense part, which shard 0 overwrites.
        codec.clearRows(touchedRows, in: gradients.pointer)
        touchedRows.removeAll(keepingCapacity: true)
        // Sum in shard order, as the local trainer does: 0 + g₀ + g₁ + ...; streamed layer buckets as
        // they arrive (while the workers compute the layers below), the final parts once all are in.
        var gather = GradientGather(codec: codec, target: gradients.pointer, shards: shards.count, streamed: streamed)
        // Also when this attempt fails: the word rows its parts wrote must be cleared before a redo.
        defer { touchedRows = gather.touchedRows }
        do {
            let replies = try collect(requests) { shard, part in
                let started = ContinuousClock.now
                defer { self.statistics.secondsSummingDuringBackward += (ContinuousClock.now - started).secondsValue }
                try gather.receive(part, shard: shard)
            }
            let sumStarted = ContinuousClock.now
            for (shard, reply) in replies.enumerated() { try gather.receive(reply, shard: shard) }
            statistics.secondsCoordinatorCompute += (ContinuousClock.now - sumStarted).secondsValue
        } catch let malformed as GradientGather.Malformed {
            abandon(requests)
            coordinator.registry.attach(shards[malformed.shard].1, job: nil)   // reload it before it serves again
            throw StepFailure(description: "a worker's gradient is malformed: \(malformed.error)")
        }
        precondition(gather.isComplete, "every shard's gradient is summed")
        statistics.secondsWorkerCompute += gather.slowestSeconds
        statistics.bytesReceived += gather.bytesReceived
        return loss
    }

    private var touchedRows = Set<Int32>()

    // MARK: - Prompt search

    /// The ``PromptObjective`` of a prompt search on this cluster (the weights stay frozen): each
    /// batch's pairs spread over the workers with the prompt vectors, the loss on the coordinator, and
    /// the shards' dLoss/d(prompt vectors) summed in shard order.
    public func promptObjective(settings: PTuning.Settings) -> any PromptObjective {
        ClusterPromptObjective(trainer: self, preparer: PromptBatchPreparer(model: model, settings: settings))
    }

    /// One evaluation of a prompt objective: forward with `vectors` (`[rows, H]`), `loss` of the pooled
    /// embeddings (filling dLoss/dPooled when given a buffer), and with `dVectors` the backward pass,
    /// whose summed gradient is added there. A lost worker makes the whole evaluation start again.
    func promptLoss(_ tokens: TokenBatch, vectors: UnsafePointer<Float>, rows: Int, dVectors: UnsafeMutablePointer<Float>?,
                    loss: (UnsafePointer<Float>, UnsafeMutablePointer<Float>?) -> Float) throws -> Float {
        let h = hidden, n = tokens.sequenceCount
        let started = ContinuousClock.now
        defer { statistics.secondsInStep += (ContinuousClock.now - started).secondsValue; statistics.steps += 1 }
        return try onLiveWorkers("prompt search") { peers in
            let shards = try forward(tokens, step: nil, peers: peers, promptVectors: (vectors, rows))
            if dEmbeddings.count < n * h { dEmbeddings = FloatBuffer(count: n * h) }
            dEmbeddings.pointer.update(repeating: 0, count: n * h)
            let value = loss(embeddings.pointer, dVectors == nil ? nil : dEmbeddings.pointer)
            guard let dVectors else { return value }
            var requests: [(UInt64, [UInt8])] = []
            for (range, identity) in shards {
                var request = Relbert_V1_BackwardRequest()
                request.jobID = jobID
                request.step = 0
                request.promptGradient = true
                request.tensors = [TensorFrames.spec("d_embeddings", .f32, [range.count, h])]
                let frame = TensorFrames.floats(dEmbeddings.pointer + range.lowerBound * h, count: range.count * h)
                statistics.bytesSent += frame.count
                requests.append((coordinator.request(Method.backward, request, tensors: [frame], to: identity), identity))
            }
            let replies = try collect(requests)
            let sum = FloatBuffer(count: rows * h)
            let part = FloatBuffer(count: rows * h)
            for (reply, (_, identity)) in zip(replies, shards) {
                do {
                    let body = try reply.body(as: Relbert_V1_BackwardReply.self)
                    try TensorFrames.validate(reply.tensors, against: body.tensors, expecting: ["d_prompt_vectors"], maxElements: rows * h)
                    guard body.tensors[0].dtype == .f32, body.tensors[0].shape == [UInt64(rows), UInt64(h)] else {
                        throw ProtocolError(.invalidArgument, "d_prompt_vectors of shape \(body.tensors[0].shape)")
                    }
                } catch {
                    coordinator.registry.attach(identity, job: nil)
                    throw StepFailure(description: "a worker's prompt gradient is malformed: \(error)")
                }
                statistics.bytesReceived += reply.tensors[0].count
                TensorFrames.readFloats(reply.tensors[0], dtype: .f32, into: part.pointer, count: rows * h)
                for i in 0 ..< rows * h { sum.pointer[i] += part.pointer[i] }
            }
            for i in 0 ..< rows * h { dVectors[i] += sum.pointer[i] }
            return value
        }
    }

    /// worker.Update to every worker holding this job's model (the update applies on top of the
    /// last load, which arrived before it on the same connection).
    private func broadcastUpdate(step: Int, learningRate: Float) {
        var request = Relbert_V1_UpdateRequest()
        request.jobID = jobID
        request.step = UInt64(step)
        request.learningRate = learningRate
        let (specs, frames) = codec.encode(gradients.pointer, rows: Array(touchedRows), bf16: false)
        request.tensors = specs
        let size = frames.reduce(0) { $0 + $1.count }
        for peer in coordinator.registry.byRank where peer.attachedJob == jobID {
            coordinator.request(Method.update, request, tensors: frames, to: peer.identity, expectReply: false)
            statistics.bytesSent += size
        }
    }

    /// Pumps until every request (id, worker) has its reply. A lost worker, an error reply or a
    /// cancel ends the wait. The parts of streamed replies go to `part` (request index, part) as they
    /// arrive, before the final reply; without `part`, a streamed reply is an error.
    private func collect(_ requests: [(UInt64, [UInt8])], part: ((Int, Envelope) throws -> Void)? = nil) throws -> [Envelope] {
        var done: [UInt64: Envelope] = [:]
        while done.count < requests.count {
            if coordinator.cancelRequested.contains(jobID) {
                abandon(requests)
                throw ClusterError.cancelled
            }
            for (index, (id, identity)) in requests.enumerated() where done[id] == nil {
                if let parts = coordinator.streamedParts.removeValue(forKey: id) {
                    guard let part else {
                        abandon(requests)
                        coordinator.registry.attach(identity, job: nil)
                        throw StepFailure(description: "worker rank \(coordinator.registry.peer(identity)?.rank ?? 0) streamed a reply to \(parts[0].header.method), which does not stream")
                    }
                    for item in parts { try part(index, item) }
                }
                if let reply = coordinator.replies.removeValue(forKey: id) {
                    guard reply.isOK else {
                        // The worker's replica is unusable (no model, wrong weights): reload it.
                        coordinator.registry.attach(identity, job: nil)
                        abandon(requests)
                        throw StepFailure(description: "worker rank \(coordinator.registry.peer(identity)?.rank ?? 0) answered \(reply.statusError!)")
                    }
                    done[id] = reply
                } else if coordinator.registry.peer(identity) == nil || coordinator.inFlight[id] == nil {
                    abandon(requests)
                    throw StepFailure(description: "a worker was lost")
                }
            }
            if done.count < requests.count { try coordinator.pump(timeoutMilliseconds: 5) }
        }
        return requests.map { done[$0.0]! }
    }

    private func abandon(_ requests: [(UInt64, [UInt8])]) {
        for (id, _) in requests {
            coordinator.inFlight[id] = nil
            coordinator.replies[id] = nil
            coordinator.streamedParts[id] = nil
        }
    }
}

/// A prompt search's objective on the cluster (see ``ClusterTrainer/promptObjective(settings:)``).
final class ClusterPromptObjective: PromptObjective {
    let trainer: ClusterTrainer
    let preparer: PromptBatchPreparer

    init(trainer: ClusterTrainer, preparer: PromptBatchPreparer) {
        self.trainer = trainer
        self.preparer = preparer
    }

    func loss(_ batch: TripletBatch, vectors: UnsafePointer<Float>, dVectors: UnsafeMutablePointer<Float>?) throws -> Float {
        let (tokens, triplets) = try preparer.prepare(batch)
        return try trainer.promptLoss(tokens, vectors: vectors, rows: preparer.settings.prompt.triggerCount, dVectors: dVectors) { pooled, dPooled in
            preparer.loss(pooled: pooled, rows: tokens.sequenceCount, triplets: triplets, dPooled: dPooled)
        }
    }
}
