import Foundation
import RelBERT
import RelBERTProtocol
import ZeroMQ

/// The coordinator: one ROUTER socket for workers and clients, the worker registry with heartbeats
/// both ways, the job queue, and the training of the running job (``ClusterTrainer``).
///
/// Everything runs on one thread. `pump` handles whatever arrived and the heartbeat timers; a
/// training step waits for its workers' replies by pumping, so heartbeats, registrations and
/// clients are served in the middle of a step too.
public final class Coordinator {
    public struct Options: Sendable {
        public var bind = "tcp://127.0.0.1:5555"
        public var stateDirectory: URL?
        public var heartbeat = HeartbeatSettings()
        /// Compare every worker's weights with the master's every this many steps (0: never).
        public var checksumEvery = 10
        /// Gradients in bf16 on the wire (half the bytes, no longer bit-exact).
        public var bf16Gradients = false
        /// Workers stream their gradients layer by layer during the backward pass, and the
        /// coordinator sums each layer as it arrives (the same sum, in the same order).
        public var streamGradients = true
        /// CURVE: the coordinator's key pair, and the public keys of the workers and clients it accepts.
        public var curve: CurveKeyPair?
        public var authorizedKeys: Set<String> = []
        /// Serving: the queue, batches, index, and a model to serve from the start.
        public var serving = ServingOptions()
        public init() {}
    }

    public let options: Options
    let context: ZMQContext
    let socket: ZMQSocket
    var registry = WorkerRegistry()
    let store: JobStore
    /// Replies that arrived for requests the coordinator is waiting on, by request id.
    var replies: [UInt64: Envelope] = [:]
    /// Requests in flight: request id → the peer it went to.
    var inFlight: [UInt64: [UInt8]] = [:]
    /// The parts of streamed replies (`more_follows`) not taken yet, in arrival order, by request id;
    /// the request stays in flight until its last reply.
    var streamedParts: [UInt64: [Envelope]] = [:]
    private var nextRequestID: UInt64 = 1
    private var lastHeartbeatRound = ContinuousClock.now
    var cancelRequested: Set<String> = []
    var runningJob: String?
    var activeTrainer: ClusterTrainer?
    /// Called after every step of a running job (on the coordinator's thread).
    public var progressObserver: ((JobRecord) -> Void)?
    private var stopped = false
    let log: (String) -> Void
    private var authenticator: ZAPAuthenticator?
    /// Serving the latest model on the workers between jobs.
    private(set) var service: InferenceService!

    /// Binds the ROUTER socket and loads the jobs in the state directory.
    public init(options: Options, log: @escaping (String) -> Void = { _ in }) throws {
        self.options = options
        self.log = log
        AllocatorTuning.keepFreedMemory()
        store = try JobStore(stateDirectory: options.stateDirectory)
        context = try ZMQContext()
        if let curve = options.curve {
            guard ZMQVersion.has("curve") else { throw ClusterError.state("this libzmq was built without CURVE") }
            let sendableLog: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
            authenticator = try ZAPAuthenticator(context: context, allowedPublicKeys: options.authorizedKeys, log: sendableLog)
            socket = try ZMQSocket(context: context, type: .router)
            try socket.setCurveServer(curve)
        } else {
            socket = try ZMQSocket(context: context, type: .router)
        }
        try socket.setRouterMandatory(true)
        try socket.setRouterHandover(true)
        try socket.setMaxMessageSize(2 << 30)
        try socket.setSendHighWaterMark(0)
        try socket.setReceiveHighWaterMark(0)
        try socket.bind(options.bind)
        service = try InferenceService(coordinator: self, options: options.serving)
        if let model = options.serving.model { try service.reload(model) }
        let resumed = store.jobs.filter { $0.state == .queued }.count
        if resumed > 0 { log("\(resumed) queued job(s) from \(options.stateDirectory?.path ?? "")") }
    }

    /// The address bound (with the real port when the bind used `*`).
    public var endpoint: String { socket.lastEndpoint ?? options.bind }

    public var workerCount: Int { registry.count }

    public func stop() { stopped = true }

    /// Serves until `stop()`, or until `until()` is true (checked between jobs and pumps).
    public func run(until: () -> Bool = { false }) throws {
        while !stopped && !until() {
            if runningJob == nil, let job = store.nextQueued {
                service.suspend(for: job.id)
                runJob(job)
                service.resume()
                if let finished = store.job(job.id), finished.state == .succeeded {
                    let model = URL(fileURLWithPath: finished.output).appendingPathComponent("model")
                    do { try service.reload(model, jobID: job.id) } catch { log("job \(job.id)'s model cannot be served: \(error)") }
                }
            } else {
                try pump(timeoutMilliseconds: 100)
                service.tick()
            }
        }
    }

    /// Serves the model in `directory` from now on (see ``InferenceService``); throws, keeping the
    /// current one, when it does not load.
    public func serve(modelDirectory directory: URL) throws {
        try service.reload(directory)
    }

    /// Pumps until at least `count` workers have registered, or `timeout` passes.
    public func waitForWorkers(_ count: Int, timeout: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while registry.count < count {
            if ContinuousClock.now > deadline { return false }
            try pump(timeoutMilliseconds: 50)
        }
        return true
    }

    /// A step executor over this coordinator's workers for `model` (benchmarks and tools; jobs make their own).
    public func makeTrainer(jobID: String, model: PretrainedModel, pooling: Pooling, optimizer: AdamW.Settings,
                            settings: LocalTrainer.Settings) -> ClusterTrainer {
        let trainer = ClusterTrainer(coordinator: self, jobID: jobID, model: model, pooling: pooling,
                                     optimizer: optimizer, settings: settings)
        activeTrainer = trainer
        return trainer
    }

    // MARK: - Jobs

    /// Queues a job (the in-process form of jobs.Submit).
    /// With `promptSearch`, the job is that search (its model: the base folder with the learned prompt)
    /// and `configuration` is unused.
    public func submit(configuration: TrainingConfiguration, promptSearch: PromptSearchSpec? = nil,
                       modelDirectory: String, dataDirectory: String,
                       output: String? = nil, resume: Bool = false, idempotencyKey: String? = nil) throws -> (job: JobRecord, existed: Bool) {
        if let key = idempotencyKey, !key.isEmpty, let existing = store.job(idempotencyKey: key) {
            return (existing, true)
        }
        do {
            if let promptSearch { try promptSearch.validate() } else { try configuration.validate() }
        } catch {
            throw ClusterError.state(error.description)
        }
        let id = Self.newJobID()
        let out = output ?? jobOutputDirectory(id).path
        let job = JobRecord(id: id, idempotencyKey: idempotencyKey, configuration: configuration, promptSearch: promptSearch,
                            modelDirectory: modelDirectory, dataDirectory: dataDirectory, output: out,
                            resume: resume, state: .queued, submitted: Date().timeIntervalSince1970)
        try store.add(job)
        log("job \(id) queued")
        return (job, false)
    }

    public func job(_ id: String) -> JobRecord? { store.job(id) }
    public var jobs: [JobRecord] { store.jobs }

    func jobOutputDirectory(_ id: String) -> URL {
        let base = options.stateDirectory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("relbert-coordinator-\(ProcessInfo.processInfo.processIdentifier)")
        return base.appendingPathComponent("jobs").appendingPathComponent(id)
    }

    static func newJobID() -> String {
        let stamp = Int(Date().timeIntervalSince1970)
        let random = UInt32.random(in: 0 ... UInt32.max)
        return "job-\(stamp)-" + String(random, radix: 16)
    }

    private func runJob(_ job: JobRecord) {
        runningJob = job.id
        defer {
            runningJob = nil
            activeTrainer = nil
            cancelRequested.remove(job.id)
        }
        let output = URL(fileURLWithPath: job.output)
        let hasCheckpoint = FileManager.default.fileExists(atPath: output.appendingPathComponent("checkpoint/trainer_state.json").path)
        try? store.update(job.id) { $0.state = .running; $0.error = nil }
        do {
            if let spec = job.promptSearch {
                log("job \(job.id) running: prompt search (\(spec.method.rawValue), \(spec.shapes.count) shape(s))")
                let best = try runPromptSearch(job, spec: spec)
                try? store.update(job.id) { $0.state = .succeeded; $0.validationLoss = best }
                log("job \(job.id) succeeded")
                return
            }
            log("job \(job.id) running\(hasCheckpoint ? " (resuming from its checkpoint)" : "")")
            let run = try TrainingRun(
                modelDirectory: URL(fileURLWithPath: job.modelDirectory), dataDirectory: URL(fileURLWithPath: job.dataDirectory),
                output: output, configuration: job.configuration, threads: 1, resume: job.resume || hasCheckpoint,
                executor: { [unowned self] model, pooling, adam, settings in
                    let trainer = ClusterTrainer(coordinator: self, jobID: job.id, model: model, pooling: pooling,
                                                 optimizer: adam, settings: settings)
                    self.activeTrainer = trainer
                    return trainer
                })
            try? store.update(job.id) { $0.totalSteps = run.totalSteps; $0.step = run.completedSteps }
            try run.run { [unowned self] progress in
                try? self.store.update(job.id, persist: progress.step % job.configuration.checkpointEvery == 0) {
                    $0.step = progress.step
                    $0.loss = progress.loss
                    $0.sequencesPerSecond = progress.sequencesPerSecond
                    $0.secondsElapsed = progress.secondsElapsed
                }
                if let observer = self.progressObserver, let record = self.store.job(job.id) { observer(record) }
            }
            let validation = try run.validationLoss()
            try? store.update(job.id) { $0.state = .succeeded; $0.validationLoss = validation }
            log("job \(job.id) succeeded")
        } catch ClusterError.cancelled {
            try? store.update(job.id) { $0.state = .cancelled }
            log("job \(job.id) cancelled")
        } catch {
            let message = "\(error)"
            try? store.update(job.id) { $0.state = .failed; $0.error = message }
            log("job \(job.id) failed: \(message)")
        }
    }

    /// A prompt search on the workers: the base model's weights go out once (frozen), every loss
    /// evaluation spreads its pairs over them. Writes `output/model`; returns the chosen prompt's
    /// validation loss. A restarted coordinator runs the search again from the start.
    private func runPromptSearch(_ job: JobRecord, spec: PromptSearchSpec) throws -> Float {
        let base = try PretrainedModel.load(from: URL(fileURLWithPath: job.modelDirectory))
        let data: SemEvalDataset
        do {
            data = try SemEvalDataset.load(directory: URL(fileURLWithPath: job.dataDirectory).appendingPathComponent("semeval2012_task2"))
        } catch {
            throw TrainingError.data(error.description)
        }
        let trainer = ClusterTrainer(coordinator: self, jobID: job.id, model: base, pooling: .average,
                                     optimizer: AdamW.Settings(), settings: LocalTrainer.Settings())
        activeTrainer = trainer
        let run = PromptSearchRun(spec: spec, threads: 1)
        try? store.update(job.id) { $0.totalSteps = run.totalSteps(trainingRelations: data.training); $0.step = 0 }
        let started = ContinuousClock.now
        let outcome = try run.run(base: base, data: data, objective: { trainer.promptObjective(settings: $0) }) { [unowned self] progress in
            try? self.store.update(job.id, persist: progress.step % 10 == 0) {
                $0.step = progress.step
                $0.totalSteps = progress.totalSteps
                $0.loss = progress.loss
                $0.secondsElapsed = (ContinuousClock.now - started).secondsValue
            }
            self.log("job \(job.id): \(progress.message)")
            if let observer = self.progressObserver, let record = self.store.job(job.id) { observer(record) }
        }
        let report = run.report(outcome, workers: registry.count)
        try PromptSearchRun.writeModel(base: base, prompt: outcome.best.prompt, report: report,
                                       to: URL(fileURLWithPath: job.output).appendingPathComponent("model"))
        return outcome.best.validationLossAfter
    }

    // MARK: - Messaging

    func takeRequestID() -> UInt64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    /// Sends a request to a worker; returns its request id. A peer that cannot be reached is removed.
    @discardableResult
    func request(_ method: String, _ message: some SwiftProtobufMessage, tensors: [ZMQFrame] = [],
                 to identity: [UInt8], expectReply: Bool = true) -> UInt64 {
        let id = takeRequestID()
        let envelope = Envelope(method: method, requestID: id, message: message, tensors: tensors)
        if send(envelope, to: identity), expectReply { inFlight[id] = identity }
        return id
    }

    @discardableResult
    func send(_ envelope: Envelope, to identity: [UInt8]) -> Bool {
        do {
            try socket.send(frames: [ZMQFrame(identity)] + envelope.frames, dontWait: true)
            registry.sent(identity)
            return true
        } catch {
            if let peer = registry.remove(identity) {
                log("worker rank \(peer.rank) unreachable (\(error)); dropped")
            }
            return false
        }
    }

    /// Handles what has arrived (waiting up to `timeoutMilliseconds` for the first message) and the
    /// heartbeat timers.
    func pump(timeoutMilliseconds: Int) throws {
        if let frames = try socket.receive(timeoutMilliseconds: timeoutMilliseconds) {
            handle(frames)
            while let more = try socket.receive(timeoutMilliseconds: 0) { handle(more) }
        }
        heartbeats()
    }

    private func heartbeats() {
        let now = ContinuousClock.now
        for peer in registry.expire(after: options.heartbeat.expiry) {
            log("worker rank \(peer.rank) (\(peer.hostname)) silent for \(options.heartbeat.expiry): counted as gone")
        }
        guard now - lastHeartbeatRound >= options.heartbeat.interval / 2 else { return }
        lastHeartbeatRound = now
        for peer in registry.byRank where now - peer.lastSent >= options.heartbeat.interval {
            var beat = Relbert_V1_Heartbeat()
            beat.rank = peer.rank
            send(Envelope(method: Method.heartbeat, requestID: 0, message: beat), to: peer.identity)
        }
    }

    private func handle(_ frames: [ZMQFrame]) {
        guard frames.count >= 2 else { return }  // no identity + content: nothing to answer
        let identity = frames[0].bytes
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(Array(frames.dropFirst()), limits: Self.limits)
        } catch {
            send(.error(to: error.request, error), to: identity)
            return
        }
        let header = envelope.header
        if registry.peer(identity) != nil { registry.heard(identity) }
        if header.isReply {
            handleReply(envelope, from: identity)
            return
        }
        if envelope.isPastDeadline {
            send(.error(to: header, ProtocolError(.deadlineExceeded, "\(header.method): the deadline passed")), to: identity)
            return
        }
        let reply: Envelope?
        switch header.method {
        case Method.ready:
            reply = register(envelope, from: identity)
        case Method.heartbeat:
            reply = registry.peer(identity) == nil
                ? .error(to: header, ProtocolError(.unavailable, "not registered: send worker.Ready")) : nil
        case Method.submit, Method.list, Method.status, Method.cancel, Method.fetch:
            reply = serveClient(envelope)
        case _ where Method.serving.contains(header.method):
            reply = service.accept(envelope, from: identity)
        default:
            reply = .error(to: header, ProtocolError(.unimplemented, "unknown method '\(header.method)'"))
        }
        if let reply { send(reply, to: identity) }
    }

    private func register(_ envelope: Envelope, from identity: [UInt8]) -> Envelope {
        let ready: Relbert_V1_ReadyRequest
        do { ready = try envelope.body(as: Relbert_V1_ReadyRequest.self) } catch { return .error(to: envelope.header, error) }
        guard !ready.workerID.isEmpty, ready.workerID.utf8.count <= 128 else {
            return .error(to: envelope.header, ProtocolError(.invalidArgument, "worker.Ready needs a worker id of 1-128 bytes"))
        }
        let peer = registry.register(identity: identity, ready: ready)
        log("worker rank \(peer.rank) registered (\(ready.hostname), pid \(ready.pid), \(ready.threads) thread(s)); \(registry.count) alive")
        var reply = Relbert_V1_ReadyReply()
        reply.rank = peer.rank
        reply.heartbeatIntervalMs = UInt32(options.heartbeat.intervalMilliseconds)
        reply.heartbeatLiveness = UInt32(options.heartbeat.liveness)
        return .reply(to: envelope.header, message: reply)
    }

    private func handleReply(_ envelope: Envelope, from identity: [UInt8]) {
        let header = envelope.header
        if header.method == Method.update, !envelope.isOK {
            // A replica refused an update: it is no longer exact and gets the weights again.
            log("worker rank \(registry.peer(identity)?.rank ?? 0) refused an update (\(envelope.statusError!)); reloading it")
            registry.attach(identity, job: nil)
            return
        }
        guard let expected = inFlight[header.requestID], expected == identity else { return }  // late or stray
        // Only worker.Backward streams; the training step takes the parts as they come. A streamed
        // reply to anything else ends its call (and fails that call's checks).
        if header.moreFollows, envelope.isOK, header.method == Method.backward {
            streamedParts[header.requestID, default: []].append(envelope)
            return
        }
        inFlight[header.requestID] = nil
        replies[header.requestID] = envelope
    }

    static var limits: MessageLimits {
        var limits = MessageLimits()
        limits.maxBodyBytes = 64 << 20
        limits.maxTensorFrames = 32
        return limits
    }
}

import SwiftProtobuf
typealias SwiftProtobufMessage = SwiftProtobuf.Message
