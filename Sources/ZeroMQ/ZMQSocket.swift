import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The libzmq socket types the wrapper supports.
public enum SocketType: Sendable, CaseIterable {
    case router, dealer, pair, pub, sub, req, rep, push, pull

    var zmqValue: Int32 {
        switch self {
        case .router: return ZMQ_ROUTER
        case .dealer: return ZMQ_DEALER
        case .pair: return ZMQ_PAIR
        case .pub: return ZMQ_PUB
        case .sub: return ZMQ_SUB
        case .req: return ZMQ_REQ
        case .rep: return ZMQ_REP
        case .push: return ZMQ_PUSH
        case .pull: return ZMQ_PULL
        }
    }
}

/// A libzmq socket.
///
/// **Not thread-safe**: use a socket from one thread at a time (libzmq sockets are not
/// thread-safe). It is `Sendable` so it can be handed to another thread, provided the
/// hand-over itself is synchronised (a lock, a queue, a join). To wake a thread blocked in
/// `receive()`, call `ZMQContext.shutdown()` (the call throws `ETERM`), or use timeouts.
///
/// New sockets have a linger period of 0 ms: `close()` (or `deinit`) discards messages
/// not yet written to the network instead of holding up context termination (libzmq's
/// default is to wait forever). Pass `lingerMilliseconds` or call `setLinger` to change it.
///
/// The socket keeps its `ZMQContext` alive; the context is terminated only after every
/// socket created from it has been closed and released.
public final class ZMQSocket: @unchecked Sendable {
    public let context: ZMQContext
    public let type: SocketType
    private var handle: UnsafeMutableRawPointer?

    public init(context: ZMQContext, type: SocketType, lingerMilliseconds: Int = 0) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.zmqValue) else {
            throw ZMQError.last("zmq_socket(\(type))")
        }
        do {
            try ZMQSocket.setOption(handle, ZMQ_LINGER, int: lingerMilliseconds, name: "ZMQ_LINGER")
        } catch {
            zmq_close(handle)
            throw error
        }
        self.context = context
        self.type = type
        self.handle = handle
    }

    deinit {
        close()
    }

    /// Closes the socket (idempotent). Later calls throw `ENOTSOCK`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        zmq_close(handle)
    }

    public var isClosed: Bool { handle == nil }

    func liveHandle(_ operation: @autoclosure () -> String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(code: ENOTSOCK, operation: operation()) }
        return handle
    }

    // MARK: - Endpoints

    /// Binds to `endpoint`, e.g. `tcp://127.0.0.1:*` (ephemeral port: see `lastEndpoint`),
    /// `ipc:///tmp/x.sock`, `inproc://name`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_bind(\(endpoint))")
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_bind(\(endpoint))") }
    }

    /// Connects to `endpoint`. Succeeds even if nobody listens yet: libzmq connects in the
    /// background and keeps reconnecting (see `setReconnectInterval`).
    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_connect(\(endpoint))")
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_connect(\(endpoint))") }
    }

    /// Stops listening on `endpoint` (use the resolved `lastEndpoint` for wildcard binds).
    public func unbind(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_unbind(\(endpoint))")
        guard zmq_unbind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_unbind(\(endpoint))") }
    }

    /// Drops the connection to `endpoint` and the messages queued for it.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = try liveHandle("zmq_disconnect(\(endpoint))")
        guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_disconnect(\(endpoint))") }
    }

    /// The endpoint of the last `bind` or `connect`, with wildcards resolved
    /// (`tcp://127.0.0.1:*` -> `tcp://127.0.0.1:41234`); nil if none or closed.
    public var lastEndpoint: String? {
        guard let handle else { return nil }
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return nil }
        let endpoint = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return endpoint.isEmpty ? nil : endpoint
    }

    // MARK: - Sending

    /// Sends one message made of `frames` (each but the last with `ZMQ_SNDMORE`).
    /// See `send(frames:dontWait:)`.
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) {
        try send(frames: frames.map(ZMQFrame.init), dontWait: dontWait)
    }

    /// Sends one message made of `frames` (each but the last with `ZMQ_SNDMORE`).
    ///
    /// A ROUTER's first frame is the peer's identity. Blocks while the message cannot be
    /// queued (high-water mark reached; a DEALER with no connection and `setImmediate(true)`)
    /// unless `dontWait` is set, in which case it throws `EAGAIN` instead; a send timeout
    /// (`setSendTimeout`) also ends in `EAGAIN`. A message is queued whole or not at all:
    /// libzmq only refuses a message at its first frame. `EINTR` is retried.
    public func send(frames: [ZMQFrame], dontWait: Bool = false) throws(ZMQError) {
        let handle = try liveHandle("zmq_msg_send")
        guard !frames.isEmpty else { throw ZMQError(code: EINVAL, operation: "zmq_msg_send(no frames)") }
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index == frames.count - 1 ? 0 : ZMQ_SNDMORE
            if index == 0 && dontWait { flags |= ZMQ_DONTWAIT }
            guard frame.initialize(message) == 0 else {
                throw ZMQError.last("zmq_msg_init(frame \(index), \(frame.count) bytes)")
            }
            var rc: Int32
            repeat {
                rc = zmq_msg_send(message, handle, flags)
            } while rc < 0 && zmq_errno() == EINTR
            if rc < 0 {
                let error = ZMQError.last("zmq_msg_send(frame \(index) of \(frames.count))")
                zmq_msg_close(message)
                throw error
            }
            // On success libzmq owns the message's content; `message` is empty again.
        }
    }

    // MARK: - Receiving

    /// Receives one whole multipart message (for a ROUTER, the first frame is the sender's
    /// identity).
    ///
    /// - Parameter timeoutMilliseconds: nil (or negative) blocks until a message arrives;
    ///   0 only takes a message that is already there; otherwise waits at most that long
    ///   (via `zmq_poll`).
    /// - Returns: the frames, or nil if no message arrived in time.
    /// - Throws: `ETERM` after `ZMQContext.shutdown()`, `ENOTSOCK` after `close()`, ...
    ///   `EINTR` is retried (with the remaining time).
    public func receive(timeoutMilliseconds: Int? = nil) throws(ZMQError) -> [ZMQFrame]? {
        let handle = try liveHandle("zmq_msg_recv")
        let deadline = timeoutMilliseconds.flatMap { $0 >= 0 ? ContinuousClock.now + .milliseconds($0) : nil }
        while true {
            if let deadline {
                guard try ZMQSocket.waitReadable(handle, until: deadline) else { return nil }
            }
            if let frames = try receiveMessage(handle, dontWait: deadline != nil) {
                return frames
            }
            // EAGAIN although zmq_poll reported the socket readable: wait again.
            if let deadline, ContinuousClock.now >= deadline { return nil }
        }
    }

    /// Reads all frames of one message; nil if there was none (EAGAIN on the first frame).
    private func receiveMessage(_ handle: UnsafeMutableRawPointer, dontWait: Bool) throws(ZMQError) -> [ZMQFrame]? {
        var frames: [ZMQFrame] = []
        while true {
            let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init(message)
            // Only the first frame can be missing: the rest of a message arrives with it.
            let flags: Int32 = frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0
            var rc: Int32
            repeat {
                rc = zmq_msg_recv(message, handle, flags)
            } while rc < 0 && zmq_errno() == EINTR
            if rc < 0 {
                let error = ZMQError.last("zmq_msg_recv")
                zmq_msg_close(message)
                message.deallocate()
                if frames.isEmpty && error.isAgain { return nil }
                throw error
            }
            let more = zmq_msg_more(message) != 0
            frames.append(ZMQFrame.taking(message))
            if !more { return frames }
        }
    }

    /// zmq_poll on one socket for input until `deadline`; retries EINTR.
    static func waitReadable(_ handle: UnsafeMutableRawPointer, until deadline: ContinuousClock.Instant) throws(ZMQError) -> Bool {
        while true {
            var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
            let rc = zmq_poll(&item, 1, milliseconds(until: deadline))
            if rc > 0 { return true }
            if rc == 0 {
                if ContinuousClock.now >= deadline { return false }
                continue  // woke up early (rounding): wait for the rest
            }
            let error = ZMQError.last("zmq_poll")
            guard error.isInterrupted else { throw error }
        }
    }
}

/// Whole milliseconds from now to `deadline`, rounded up, at least 0.
func milliseconds(until deadline: ContinuousClock.Instant) -> Int {
    let remaining = ContinuousClock.now.duration(to: deadline)
    if remaining <= .zero { return 0 }
    let (seconds, attoseconds) = remaining.components
    let fraction = attoseconds / 1_000_000_000_000_000 + (attoseconds % 1_000_000_000_000_000 == 0 ? 0 : 1)
    return Int(seconds) * 1000 + Int(fraction)
}
