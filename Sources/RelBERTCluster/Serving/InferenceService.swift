import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// Serving on the coordinator's workers. Requests are tokenized on arrival and queued (bounded, in
/// pairs); whenever a worker is idle, the queue's front is coalesced into one batch of up to a
/// token budget (pairs of one request may spread over several batches and workers) and sent as
/// worker.Embed. Rows come back into each request in its own order; a request is answered when its
/// last row arrives. A worker lost mid-batch has its batch carried again by another.
///
/// A model swap is atomic: once a new model has loaded on the coordinator, no request starts on the
/// old one; requests already started finish on it; then every worker gets the new weights and the
/// requests still waiting are tokenized again for the new model. Every reply names its model.
///
/// Everything runs on the coordinator's thread: `accept` from its message handler, `tick` after
/// every pump.
final class InferenceService {
    private struct Batch {
        enum Item {
            case request(key: UInt64, pair: Int)
            case index(row: Int)
        }
        let worker: [UInt8]
        let generation: UInt64
        let items: [Item]
    }

    private struct WorkerState {
        var loadedGeneration: UInt64?
        var loadRequest: UInt64?
        var refusedGeneration: UInt64?
        var batch: UInt64?
    }

    private unowned let coordinator: Coordinator
    let options: ServingOptions
    private(set) var model: ServedModel?
    private var generation: UInt64 = 0
    private var pendingSwap: (model: ServedModel, requester: ([UInt8], Relbert_V1_Header)?)?
    private var index: PairIndex?
    private var requests: [UInt64: PendingRequest] = [:]
    private var order: [UInt64] = []
    private var nextKey: UInt64 = 1
    private var batches: [UInt64: Batch] = [:]
    private var workers: [[UInt8]: WorkerState] = [:]
    private var pairsInQueue = 0
    private var answered: UInt64 = 0
    private var failed: UInt64 = 0
    private var suspendedFor: String?

    init(coordinator: Coordinator, options: ServingOptions) throws {
        self.coordinator = coordinator
        self.options = options
        switch options.index {
        case .none: index = nil
        case .bundled(let data): index = try PairIndex.bundled(dataDirectory: data)
        case .file(let url): index = try PairIndex.file(url)
        }
    }

    var isBusy: Bool { !requests.isEmpty || !batches.isEmpty || pendingSwap != nil || (index?.hasWork ?? false) }

    // MARK: - Models

    /// Serves the model in `directory` (at start-up, after a job, or for serve.Reload). Throws, and
    /// keeps the current model, when it does not load.
    @discardableResult
    func reload(_ directory: URL, jobID: String? = nil, requester: ([UInt8], Relbert_V1_Header)? = nil) throws -> ServedModel {
        if pendingSwap != nil { throw ServingError.badModel("a swap to \(pendingSwap!.model.identity.path) is in progress") }
        let loaded = try ServedModel(directory: directory, generation: generation + 1, jobID: jobID)
        coordinator.log("model \(directory.path) loaded (checksum \(loaded.identity.checksum)); swapping when the batches in flight are done")
        pendingSwap = (loaded, requester)
        trySwap()
        return loaded
    }

    private func trySwap() {
        guard let swap = pendingSwap, batches.isEmpty else { return }
        guard !requests.values.contains(where: { $0.started && $0.generation == generation }) else { return }
        let previous = model?.identity
        model = swap.model
        generation = swap.model.identity.generation
        pendingSwap = nil
        for key in workers.keys { workers[key]?.loadedGeneration = nil }
        index?.reset(dimension: swap.model.dimension)
        for key in order {
            guard let request = requests[key] else { continue }
            do { try request.prepare(for: swap.model, generation: generation) } catch { fail(request, error) }
        }
        coordinator.log("serving \(swap.model.identity.path) (generation \(generation), checksum \(swap.model.identity.checksum))")
        if let (identity, header) = swap.requester {
            var reply = Relbert_V1_ReloadReply()
            reply.model = swap.model.identity
            if let previous { reply.previous = previous }
            coordinator.send(.reply(to: header, message: reply), to: identity)
        }
    }

    /// A training job takes the workers: everything waiting is answered UNAVAILABLE.
    func suspend(for job: String) {
        suspendedFor = job
        for key in order {
            if let request = requests[key] {
                fail(request, ProtocolError(.unavailable, "the workers are training job \(job); serving resumes when it ends"))
            }
        }
        for id in batches.keys { coordinator.inFlight[id] = nil; coordinator.replies[id] = nil }
        batches = [:]
        for (key, state) in workers {
            if let load = state.loadRequest { coordinator.inFlight[load] = nil; coordinator.replies[load] = nil }
            workers[key] = WorkerState()
        }
        index?.reset(dimension: model?.dimension ?? 0)
    }

    /// The job is over: the workers hold its training replica, so they all get the served model again.
    func resume() {
        suspendedFor = nil
        workers = [:]
    }

    // MARK: - Requests

    /// Handles a serve.* request: an immediate reply, or nil when it was queued.
    func accept(_ envelope: Envelope, from identity: [UInt8]) -> Envelope? {
        let header = envelope.header
        do throws(ProtocolError) {
            switch header.method {
            case Method.serveInfo:
                _ = try envelope.body(as: Relbert_V1_InfoRequest.self)
                return .reply(to: header, message: info())
            case Method.serveReload:
                let request = try envelope.body(as: Relbert_V1_ReloadRequest.self)
                guard !request.modelDirectory.isEmpty else { throw ProtocolError(.invalidArgument, "serve.Reload: model_directory is empty") }
                guard suspendedFor == nil else { throw ProtocolError(.unavailable, "serve.Reload: the workers are training job \(suspendedFor!)") }
                do {
                    try reload(URL(fileURLWithPath: request.modelDirectory), requester: (identity, header))
                } catch {
                    let still = model.map { "; still serving \($0.identity.path) (generation \($0.identity.generation))" } ?? ""
                    throw ProtocolError(.failedPrecondition, "serve.Reload: \(error)\(still)")
                }
                return nil
            default:
                break
            }
            if let job = suspendedFor {
                throw ProtocolError(.unavailable, "\(header.method): the workers are training job \(job); serving resumes when it ends")
            }
            guard let model else {
                throw ProtocolError(.failedPrecondition, "\(header.method): no model is served yet (relbert serve --model DIR, or wait for a job to finish)")
            }
            let request: PendingRequest
            switch header.method {
            case Method.serveEmbed:
                let body = try envelope.body(as: Relbert_V1_EmbedRequest.self)
                request = try queued(identity, header, .embed, body.pairs, template: body.template, pooling: body.pooling)
            case Method.serveAnalogy:
                let body = try envelope.body(as: Relbert_V1_AnalogyRequest.self)
                guard body.hasQuery, !body.candidates.isEmpty else {
                    throw ProtocolError(.invalidArgument, "serve.Analogy needs a query pair and at least one candidate")
                }
                request = try queued(identity, header, .analogy, [body.query] + body.candidates, template: body.template, pooling: body.pooling)
            case Method.serveNearest:
                let body = try envelope.body(as: Relbert_V1_NearestRequest.self)
                let k = body.k == 0 ? 10 : Int(body.k)
                guard (1 ... 100).contains(k) else { throw ProtocolError(.invalidArgument, "serve.Nearest: k must be 1-100, got \(k)") }
                guard let index else {
                    throw ProtocolError(.failedPrecondition, "serve.Nearest: this server holds no index (it was started with --index none)")
                }
                guard index.isReady else {
                    throw ProtocolError(.unavailable, "serve.Nearest: the index is being built for generation \(generation): \(index.built) of \(index.count) pairs embedded")
                }
                request = try queued(identity, header, .nearest(k: k), [body.pair])
            case Method.serveHealth:
                _ = try envelope.body(as: Relbert_V1_HealthRequest.self)
                var probe = Relbert_V1_Pair()
                probe.head = ServedModel.probe.head
                probe.tail = ServedModel.probe.tail
                request = try queued(identity, header, .health, [probe])
            default:
                throw ProtocolError(.unimplemented, "unknown method '\(header.method)'")
            }
            try request.prepare(for: model, generation: generation)
            requests[request.key] = request
            order.append(request.key)
            pairsInQueue += request.pairs.count
            return nil
        } catch {
            failed += 1
            return .error(to: header, error)
        }
    }

    private func queued(_ identity: [UInt8], _ header: Relbert_V1_Header, _ kind: PendingRequest.Kind,
                        _ pairs: [Relbert_V1_Pair], template: String = "", pooling: String = "") throws(ProtocolError) -> PendingRequest {
        guard !pairs.isEmpty else { throw ProtocolError(.invalidArgument, "\(header.method): no pairs") }
        guard pairs.count <= options.maxPairsPerRequest else {
            throw ProtocolError(.invalidArgument, "\(header.method): \(pairs.count) pairs; at most \(options.maxPairsPerRequest) per request")
        }
        for pair in pairs where pair.head.utf8.count > options.maxWordBytes || pair.tail.utf8.count > options.maxWordBytes {
            throw ProtocolError(.invalidArgument, "\(header.method): a word longer than \(options.maxWordBytes) bytes")
        }
        guard template.utf8.count <= 1024 else { throw ProtocolError(.invalidArgument, "\(header.method): template longer than 1024 bytes") }
        guard pairsInQueue + pairs.count <= options.queueLimit else {
            throw ProtocolError(.resourceExhausted, "\(header.method): the queue is full (\(pairsInQueue) pairs waiting, bound \(options.queueLimit)); retry later")
        }
        defer { nextKey += 1 }
        return PendingRequest(key: nextKey, identity: identity, header: header, kind: kind,
                              pairs: pairs.map { WordPair($0.head, $0.tail) }, template: template, pooling: pooling)
    }

    private func info() -> Relbert_V1_InfoReply {
        var reply = Relbert_V1_InfoReply()
        if let model {
            reply.model = model.identity
            reply.modelType = model.model.config.modelType.rawValue
            reply.dimension = UInt32(model.dimension)
            reply.layers = UInt32(model.model.config.numHiddenLayers)
            reply.maxLength = UInt32(model.maxLength)
        }
        reply.workersAlive = UInt32(coordinator.registry.count)
        reply.indexSize = UInt64(index?.count ?? 0)
        reply.indexBuilt = UInt64(index?.built ?? 0)
        reply.indexReady = index?.isReady ?? false
        reply.queuedPairs = UInt64(pairsInQueue)
        reply.queueLimit = UInt64(options.queueLimit)
        reply.maxPairsPerRequest = UInt32(options.maxPairsPerRequest)
        reply.requestsAnswered = answered
        reply.requestsFailed = failed
        return reply
    }

    // MARK: - The loop

    /// Runs after every pump: worker arrivals and losses, replies, deadlines, the swap, loads, batches.
    func tick() {
        guard suspendedFor == nil, let model else { return }
        syncWorkers()
        collectReplies()
        expireDeadlines()
        trySwap()
        sendLoads(model)
        dispatch()
        if order.count > 2 * requests.count + 64 { order.removeAll { requests[$0] == nil } }
    }

    private func syncWorkers() {
        for identity in workers.keys where coordinator.registry.peer(identity) == nil {
            let state = workers.removeValue(forKey: identity)!
            if let id = state.batch, let batch = batches.removeValue(forKey: id) {
                coordinator.log("a worker was lost with a batch of \(batch.items.count) pair(s); carrying it again")
                requeue(batch)
                coordinator.inFlight[id] = nil
            }
        }
        for peer in coordinator.registry.byRank where workers[peer.identity] == nil {
            workers[peer.identity] = WorkerState()
        }
        // A worker that holds something else (a training job ran on it) gets the served model again.
        for (identity, state) in workers where state.loadedGeneration != nil {
            if coordinator.registry.peer(identity)?.attachedJob != model?.servingID { workers[identity]?.loadedGeneration = nil }
        }
    }

    private func collectReplies() {
        for (identity, state) in workers {
            if let id = state.loadRequest, let reply = coordinator.replies.removeValue(forKey: id) {
                workers[identity]?.loadRequest = nil
                if reply.isOK, let model {
                    workers[identity]?.loadedGeneration = generation
                    coordinator.registry.markLoaded(identity, job: model.servingID)
                } else {
                    workers[identity]?.refusedGeneration = generation
                    coordinator.log("worker rank \(rank(identity)) could not load the served model: \(reply.statusError?.description ?? "?")")
                }
            }
            if let id = state.batch, let reply = coordinator.replies.removeValue(forKey: id) {
                workers[identity]?.batch = nil
                if let batch = batches.removeValue(forKey: id) { finish(batch, reply: reply) }
            }
        }
    }

    private func expireDeadlines() {
        let now = Date(), clock = ContinuousClock.now
        for key in order {
            guard let request = requests[key] else { continue }
            let waited = clock - request.arrived
            if let deadline = request.deadline, deadline < now {
                fail(request, ProtocolError(.deadlineExceeded, "\(request.header.method): the deadline passed after \(String(format: "%.3f", waited.secondsValue)) s in the server"))
            } else if waited > options.maxWait {
                let why = coordinator.registry.count == 0 ? "no worker is connected" : "the workers are busy"
                fail(request, ProtocolError(.deadlineExceeded, "\(request.header.method): waited \(options.maxWait), the server's limit; \(why)"))
            }
        }
    }

    private func sendLoads(_ model: ServedModel) {
        for (identity, state) in workers where state.loadedGeneration != generation && state.loadRequest == nil
            && state.batch == nil && state.refusedGeneration != generation {
            let (request, tensors) = model.loadRequest()
            coordinator.registry.attach(identity, job: model.servingID)
            workers[identity]?.loadRequest = coordinator.request(Method.load, request, tensors: tensors, to: identity)
            coordinator.log("sending the served model (generation \(generation)) to worker rank \(rank(identity))")
        }
    }

    private func dispatch() {
        guard let model else { return }
        for (identity, state) in workers.sorted(by: { rank($0.key) < rank($1.key) })
        where state.loadedGeneration == generation && state.loadRequest == nil && state.batch == nil {
            guard let (items, pooling, sequences) = nextBatch(model) else { return }
            var request = Relbert_V1_WorkerEmbedRequest()
            request.jobID = model.servingID
            request.pooling = pooling.rawValue
            let tokens = TokenBatch(sequences: sequences)
            let (specs, frames) = TokenBatchFrames.encode(tokens)
            request.tensors = specs
            let id = coordinator.request(Method.embed, request, tensors: frames, to: identity)
            guard coordinator.inFlight[id] != nil else {   // could not send: the worker is gone
                requeue(Batch(worker: identity, generation: generation, items: items))
                continue
            }
            workers[identity]?.batch = id
            batches[id] = Batch(worker: identity, generation: generation, items: items)
            let now = ContinuousClock.now
            for case .request(let key, _) in items { requests[key]?.lastDispatched = now }
        }
    }

    /// The front of the queue, up to the token budget, all with one pooling; else index rows.
    private func nextBatch(_ model: ServedModel) -> ([Batch.Item], Pooling, [[Int32]])? {
        var items: [Batch.Item] = []
        var sequences: [[Int32]] = []
        var tokens = 0
        var pooling: Pooling?
        let swapping = pendingSwap != nil
        scan: for key in order {
            guard let request = requests[key], request.hasUndispatched, request.generation == generation else { continue }
            if swapping && !request.started { continue }
            if let pooling, request.pooling != pooling { continue }
            pooling = request.pooling
            while let pair = request.takePair(budget: items.isEmpty ? Int.max : options.tokenBudget - tokens) {
                items.append(.request(key: key, pair: pair))
                sequences.append(request.sequences[pair])
                tokens += request.sequences[pair].count
            }
            if request.hasUndispatched { break scan }   // the budget is spent
        }
        if let pooling { return (items, pooling, sequences) }
        guard !swapping, index?.hasWork == true else { return nil }
        for row in index!.take(max(1, options.tokenBudget / 16)) {
            let ids = (try? model.tokenize(index!.entries[row].pair, prompt: model.prompt, pooling: model.pooling))
                ?? [model.model.tokenizer.maskTokenID]   // unusable (mask truncated): the row gets whatever this embeds
            items.append(.index(row: row))
            sequences.append(ids)
        }
        return (items, model.pooling, sequences)
    }

    private func requeue(_ batch: Batch) {
        for item in batch.items.reversed() {
            switch item {
            case .request(let key, let pair): requests[key]?.giveBack(pair)
            case .index(let row):
                index?.giveBack([row])
            }
        }
    }

    private func finish(_ batch: Batch, reply: Envelope) {
        let h = model?.dimension ?? 0
        guard reply.isOK else {
            coordinator.log("worker rank \(rank(batch.worker)) answered a batch with \(reply.statusError!); carrying it again")
            requeue(batch)
            workers[batch.worker]?.loadedGeneration = nil   // reload it before it serves again
            return
        }
        let body: Relbert_V1_WorkerEmbedReply
        do {
            body = try reply.body(as: Relbert_V1_WorkerEmbedReply.self)
            try TensorFrames.validate(reply.tensors, against: body.tensors, expecting: ["embeddings"], maxElements: batch.items.count * h)
            guard body.tensors[0].dtype == .f32, body.tensors[0].shape == [UInt64(batch.items.count), UInt64(h)] else {
                throw ProtocolError(.invalidArgument, "embeddings must be F32 [\(batch.items.count), \(h)]")
            }
        } catch {
            coordinator.log("worker rank \(rank(batch.worker)) sent a malformed batch reply (\(error)); carrying it again")
            requeue(batch)
            workers[batch.worker]?.loadedGeneration = nil
            return
        }
        let values = FloatBuffer(count: batch.items.count * h)
        TensorFrames.readFloats(reply.tensors[0], dtype: .f32, into: values.pointer, count: batch.items.count * h)
        var charged = Set<UInt64>()
        for (position, item) in batch.items.enumerated() {
            let row = values.pointer + position * h
            switch item {
            case .request(let key, let pair):
                guard let request = requests[key] else { continue }   // answered meanwhile (deadline)
                if body.unpoolableSequence == UInt32(position + 1) {
                    fail(request, ProtocolError(.invalidArgument, "the prompt for \(request.pairs[pair]) cannot be pooled"))
                    continue
                }
                if charged.insert(key).inserted { request.computeSeconds += body.computeSeconds }
                request.store(pair: pair, vector: row)
                if request.remaining == 0 { complete(request) }
            case .index(let row):
                index?.store(row: row, vector: values.pointer + position * h)
                if index?.isReady == true { coordinator.log("nearest-pair index ready: \(index!.count) pairs") }
            }
        }
        trySwap()
    }

    // MARK: - Replies

    private func complete(_ request: PendingRequest) {
        guard let model else { return }
        var timings = Relbert_V1_Timings()
        timings.queueSeconds = ((request.lastDispatched ?? .now) - request.arrived).secondsValue
        timings.tokenizeSeconds = request.tokenizeSeconds
        timings.computeSeconds = request.computeSeconds
        timings.totalSeconds = (ContinuousClock.now - request.arrived).secondsValue
        let envelope: Envelope
        switch request.kind {
        case .embed:
            var reply = Relbert_V1_EmbedReply()
            reply.model = model.identity
            reply.timings = timings
            reply.tensors = [TensorFrames.spec("embeddings", .f32, [request.pairs.count, model.dimension])]
            let frame = request.vectors.withUnsafeBufferPointer { TensorFrames.floats($0.baseAddress!, count: $0.count) }
            envelope = .reply(to: request.header, Envelope.Parts(message: reply, tensors: [frame]))
        case .analogy:
            var reply = Relbert_V1_AnalogyReply()
            reply.model = model.identity
            reply.timings = timings
            reply.scores = (1 ..< request.pairs.count).map { Similarity.cosine(request.vector(0), request.vector($0)) }
            reply.best = UInt32(reply.scores.indices.max { reply.scores[$0] < reply.scores[$1] || (reply.scores[$0] == reply.scores[$1] && $0 > $1) } ?? 0)
            envelope = .reply(to: request.header, message: reply)
        case .nearest(let k):
            guard let index, index.isReady else {
                fail(request, ProtocolError(.unavailable, "serve.Nearest: the index is being rebuilt for a new model"))
                return
            }
            var reply = Relbert_V1_NearestReply()
            reply.model = model.identity
            reply.timings = timings
            reply.indexSize = UInt64(index.count)
            let found = request.vectors.withUnsafeBufferPointer {
                index.nearest(to: $0.baseAddress!, k: k, excluding: request.pairs[0])
            }
            reply.neighbours = found.map { entry, score in
                var neighbour = Relbert_V1_Neighbour()
                neighbour.pair.head = entry.pair.head
                neighbour.pair.tail = entry.pair.tail
                neighbour.score = score
                neighbour.source = entry.source
                return neighbour
            }
            envelope = .reply(to: request.header, message: reply)
        case .health:
            let difference = zip(request.vectors, model.probeVector).map { abs($0 - $1) }.max() ?? .infinity
            guard difference <= 1e-3 else {
                fail(request, ProtocolError(.internal, "serve.Health: a worker's vector for \(ServedModel.probe) differs from the coordinator's by \(difference)"))
                return
            }
            var reply = Relbert_V1_HealthReply()
            reply.model = model.identity
            reply.timings = timings
            reply.probe.head = ServedModel.probe.head
            reply.probe.tail = ServedModel.probe.tail
            reply.maxAbsDifference = difference
            reply.workersAlive = UInt32(coordinator.registry.count)
            envelope = .reply(to: request.header, message: reply)
        }
        remove(request)
        answered += 1
        coordinator.send(envelope, to: request.identity)
    }

    private func fail(_ request: PendingRequest, _ error: ProtocolError) {
        remove(request)
        failed += 1
        coordinator.send(.error(to: request.header, error), to: request.identity)
    }

    private func remove(_ request: PendingRequest) {
        if requests.removeValue(forKey: request.key) != nil { pairsInQueue -= request.pairs.count }
    }

    private func rank(_ identity: [UInt8]) -> UInt32 { coordinator.registry.peer(identity)?.rank ?? 0 }
}
