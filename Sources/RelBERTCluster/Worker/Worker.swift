import Dispatch
import Foundation
import RelBERT
import RelBERTProtocol
import Synchronization
import ZeroMQ

/// A worker process: connects a DEALER socket to the coordinator, registers (worker.Ready), answers
/// heartbeats, and runs the coordinator's requests (load, forward, backward, update) on a compute
/// thread while its I/O thread keeps the heartbeats going. When the coordinator falls silent for
/// the heartbeat window, it closes the socket, opens a new one and registers again.
public final class Worker: @unchecked Sendable {
    public struct Options: Sendable {
        public var endpoint: String
        public var threads: Int = 1
        public var heartbeat = HeartbeatSettings()
        public var workerID = UUID().uuidString
        /// CURVE keys, when the coordinator requires them.
        public var curve: CurveClientKeys?
        public init(endpoint: String) { self.endpoint = endpoint }
    }

    public private(set) var options: Options
    private let context: ZMQContext
    private var socket: ZMQSocket?
    private let wakeReceiver: ZMQSocket
    private let wakeSender: ZMQSocket
    private let compute = DispatchQueue(label: "relbert.worker.compute")
    private let outbox = Mutex<[Envelope]>([])
    /// The model this worker holds: a training replica or a served model.
    private enum Replica {
        case training(WorkerReplica)
        case inference(InferenceReplica)
    }
    private let replicaLock = Mutex<Replica?>(nil)
    private var rank: UInt32?
    private var nextRequestID: UInt64 = 1
    private var lastHeard = ContinuousClock.now
    private var lastSent = ContinuousClock.now
    private var readySentAt: ContinuousClock.Instant?
    private let stopFlag = Atomic<Bool>(false)
    private let log: @Sendable (String) -> Void

    public init(options: Options, log: @escaping @Sendable (String) -> Void = { _ in }) throws(ZMQError) {
        self.options = options
        self.log = log
        AllocatorTuning.keepFreedMemory()
        context = try ZMQContext()
        let wake = "inproc://relbert-worker-wake-\(UUID().uuidString)"
        wakeReceiver = try ZMQSocket(context: context, type: .pair)
        try wakeReceiver.bind(wake)
        wakeSender = try ZMQSocket(context: context, type: .pair)
        try wakeSender.connect(wake)
        BLAS.setThreads(options.threads)
    }

    /// Asks `run()` to return (from any thread).
    public func stop() { stopFlag.store(true, ordering: .relaxed) }

    /// Serves until `stop()`.
    public func run() throws {
        try connect()
        while !stopFlag.load(ordering: .relaxed) {
            guard let socket else { try connect(); continue }
            var poller = ZMQPoller()
            poller.add(socket)
            poller.add(wakeReceiver)
            let ready = try poller.poll(timeoutMilliseconds: min(100, options.heartbeat.intervalMilliseconds / 2))
            if ready.contains(1) {
                while (try wakeReceiver.receive(timeoutMilliseconds: 0)) != nil {}
            }
            try flushOutbox()
            if ready.contains(0) {
                while let frames = try socket.receive(timeoutMilliseconds: 0) {
                    try handle(frames)
                }
            }
            try keepAlive()
        }
        socket?.close()
    }

    // MARK: - Connection

    private func connect() throws {
        socket?.close()
        let socket = try ZMQSocket(context: context, type: .dealer)
        if let curve = options.curve { try socket.setCurveClient(curve.keys, serverKey: curve.serverKey) }
        try socket.setMaxMessageSize(2 << 30)
        try socket.setReconnectInterval(milliseconds: 100, maxMilliseconds: 1000)
        try socket.connect(options.endpoint)
        self.socket = socket
        rank = nil
        lastHeard = .now
        try sendReady()
    }

    private func sendReady() throws {
        var ready = Relbert_V1_ReadyRequest()
        ready.workerID = options.workerID
        ready.hostname = ProcessInfo.processInfo.hostName
        ready.threads = UInt32(options.threads)
        ready.softwareVersion = SoftwareVersion.current
        ready.pid = UInt32(ProcessInfo.processInfo.processIdentifier)
        try send(Envelope(method: Method.ready, requestID: takeRequestID(), message: ready))
        readySentAt = .now
    }

    private func takeRequestID() -> UInt64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    private func send(_ envelope: Envelope) throws {
        guard let socket else { return }
        do {
            try socket.send(frames: envelope.frames, dontWait: true)
            lastSent = .now
        } catch where error.isAgain {
            // The coordinator is not reachable right now; heartbeats and re-registration recover.
        }
    }

    /// Heartbeats out; silence in means the coordinator is gone: reconnect and register again.
    private func keepAlive() throws {
        let now = ContinuousClock.now
        if now - lastHeard > options.heartbeat.expiry {
            log("the coordinator has been silent for \(options.heartbeat.expiry); reconnecting")
            try connect()
            return
        }
        if rank == nil, let sent = readySentAt, now - sent > options.heartbeat.interval {
            try sendReady()
        }
        if now - lastSent >= options.heartbeat.interval {
            var beat = Relbert_V1_Heartbeat()
            beat.rank = rank ?? 0
            try send(Envelope(method: Method.heartbeat, requestID: 0, message: beat))
        }
    }

    private func flushOutbox() throws {
        let pending = outbox.withLock { box -> [Envelope] in
            defer { box.removeAll() }
            return box
        }
        for envelope in pending { try send(envelope) }
    }

    // MARK: - Messages

    private func handle(_ frames: [ZMQFrame]) throws {
        let envelope: Envelope
        do {
            envelope = try Envelope.parse(frames, limits: Self.limits)
        } catch {
            log("dropped a malformed message from the coordinator: \(error)")
            return
        }
        lastHeard = .now
        let header = envelope.header
        if header.isReply {
            if header.method == Method.ready {
                if envelope.isOK, let reply = try? envelope.body(as: Relbert_V1_ReadyReply.self) {
                    rank = reply.rank
                    if reply.heartbeatIntervalMs > 0, reply.heartbeatLiveness > 0 {
                        options.heartbeat = HeartbeatSettings(intervalMilliseconds: Int(reply.heartbeatIntervalMs),
                                                              liveness: Int(reply.heartbeatLiveness))
                    }
                    log("registered as rank \(reply.rank)")
                } else {
                    log("registration refused: \(envelope.statusError?.description ?? "unreadable reply")")
                }
            } else if header.status == .unavailable {
                // The coordinator does not know us (it restarted, or counted us as gone): register again.
                rank = nil
                try sendReady()
            }
            return
        }
        switch header.method {
        case Method.heartbeat:
            return
        case Method.load, Method.forward, Method.backward, Method.update, Method.embed:
            if envelope.isPastDeadline {
                try send(.error(to: header, ProtocolError(.deadlineExceeded, "\(header.method): the deadline passed before it arrived")))
                return
            }
            compute.async { [self] in
                if let reply = self.execute(envelope) { self.post(reply) }
            }
        default:
            try send(.error(to: header, ProtocolError(.unimplemented, "a worker does not serve \(header.method)")))
        }
    }

    /// Queues a message for the I/O thread to send (from the compute thread) and wakes it.
    private func post(_ envelope: Envelope) {
        outbox.withLock { $0.append(envelope) }
        try? wakeSender.send([[1]], dontWait: true)
    }

    /// Runs one request on the compute thread; nil for one-way messages that went well.
    private func execute(_ envelope: Envelope) -> Envelope? {
        let header = envelope.header
        do throws(ProtocolError) {
            switch header.method {
            case Method.load:
                let request = try envelope.body(as: Relbert_V1_LoadRequest.self)
                var reply = Relbert_V1_LoadReply()
                if request.inference {
                    replicaLock.withLock { $0 = nil }   // the old model's memory goes before the new one arrives
                    let replica = try InferenceReplica(load: request, tensors: envelope.tensors)
                    replicaLock.withLock { $0 = .inference(replica) }
                    reply.parameterCount = UInt64(replica.parameterCount)
                    log("serving \(request.jobID): \(reply.parameterCount) parameters")
                } else {
                    let replica = try WorkerReplica(load: request, tensors: envelope.tensors)
                    replicaLock.withLock { $0 = .training(replica) }
                    reply.parameterCount = UInt64(replica.parameters.layout.totalCount)
                    log("loaded job \(request.jobID): \(reply.parameterCount) parameters at optimizer step \(request.adamStep)")
                }
                return .reply(to: header, message: reply)
            case Method.embed:
                let request = try envelope.body(as: Relbert_V1_WorkerEmbedRequest.self)
                return .reply(to: header, try servedModel().embed(request, tensors: envelope.tensors))
            case Method.forward:
                let request = try envelope.body(as: Relbert_V1_ForwardRequest.self)
                return .reply(to: header, try currentReplica().forward(request, tensors: envelope.tensors))
            case Method.backward:
                let request = try envelope.body(as: Relbert_V1_BackwardRequest.self)
                return .reply(to: header, try currentReplica().backward(request, tensors: envelope.tensors) { bucket in
                    var part = Envelope.reply(to: header, bucket)
                    part.header.moreFollows = true
                    self.post(part)
                })
            case Method.update:
                let request = try envelope.body(as: Relbert_V1_UpdateRequest.self)
                try currentReplica().update(request, tensors: envelope.tensors)
                return nil
            default:
                throw ProtocolError(.unimplemented, header.method)
            }
        } catch {
            if header.method == Method.update || error.status == .dataLoss {
                // A replica that missed or refused an update is no longer exact: drop it, so the
                // coordinator's next request finds no model and sends the weights again.
                replicaLock.withLock { $0 = nil }
            }
            return .error(to: header, error)
        }
    }

    private func currentReplica() throws(ProtocolError) -> WorkerReplica {
        guard case .training(let replica)? = replicaLock.withLock({ $0 }) else {
            throw ProtocolError(.failedPrecondition, "this worker holds no training model: send worker.Load first")
        }
        return replica
    }

    private func servedModel() throws(ProtocolError) -> InferenceReplica {
        guard case .inference(let replica)? = replicaLock.withLock({ $0 }) else {
            throw ProtocolError(.failedPrecondition, "this worker serves no model: send worker.Load with inference set first")
        }
        return replica
    }

    static var limits: MessageLimits {
        var limits = MessageLimits()
        limits.maxBodyBytes = 64 << 20
        return limits
    }
}
